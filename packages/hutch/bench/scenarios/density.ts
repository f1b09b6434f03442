/**
 * Scenario 4: density. Start N idle sandboxes through the engine (a few at a time), let them
 * settle, and measure host memory per sandbox three ways: the MemAvailable delta of
 * /proc/meminfo (everything: processes, page tables, kernel objects such as namespaces, cgroups
 * and mounts), the sum of PSS / RSS of the sandboxes' processes, and the engine process's own
 * RSS growth. Then tear all down and list what is left on the host (must be nothing).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchContext } from '../context.js';
import { cgroupMemoryBytes, cgroupPidsOf, findLeaks, kernelMemoryBytes, leakCount, memAvailableBytes, processMemory, steadyReading } from '../host.js';
import { nowMs, pool } from '../stats.js';
import type { Tier } from '../tiers.js';

export const SCENARIO_4 = '4 density';
const MB = 1e6;

export interface DensityDetails {
  n: number;
  started: number;
  startAllMs: number;
  teardownAllMs: number;
  memAvailableDeltaBytes: number;
  kernelDeltaBytes: number;
  pssBytes: number;
  rssBytes: number;
  cgroupMemoryBytes: number;
  engineRssDeltaBytes: number;
  processesPerSandbox: number;
  leaks: Awaited<ReturnType<typeof findLeaks>>;
}

export async function runDensity(ctx: BenchContext, tier: Tier): Promise<DensityDetails> {
  const { options, log, results } = ctx;
  const n = options.n;
  const { engine } = tier;
  const ids: string[] = [];
  const failures: string[] = [];
  global.gc?.();
  await sleep(500);
  const memBefore = await steadyReading(memAvailableBytes);
  const kernelBefore = await steadyReading(kernelMemoryBytes);
  const rssBefore = process.memoryUsage().rss;
  log.step(`${SCENARIO_4} on ${tier.name}: starting ${n} idle sandboxes (${options.densityConcurrency} at a time)`);
  const t0 = nowMs();
  let teardownMs = 0;
  let memAfter = memBefore;
  let kernelAfter = kernelBefore;
  let rssAfter = rssBefore;
  let pss = 0;
  let rss = 0;
  let cgroupBytes = 0;
  let processCount = 0;
  try {
    await pool(n, options.densityConcurrency, async (i) => {
      try {
        ids.push((await engine.lifecycle.create({ ...tier.request, metadata: { bench: 'density' } })).id);
      } catch (err) {
        failures.push(`#${i}: ${(err as Error).message}`);
      }
      if ((i + 1) % 100 === 0) log.step(`  ${i + 1} of ${n} started`);
    });
    const startAllMs = nowMs() - t0;
    const started = ids.length;
    results.value({ scenario: SCENARIO_4, tier: tier.name, via: 'engine', metric: `start ${n} idle sandboxes`, unit: 's', value: startAllMs / 1000, note: `${ids.length} ok, ${(startAllMs / Math.max(1, ids.length)).toFixed(1)} ms each` });
    log.step(`  started ${ids.length} in ${(startAllMs / 1000).toFixed(1)} s; letting them settle`);
    await sleep(2000);
    global.gc?.();
    memAfter = await steadyReading(memAvailableBytes);
    kernelAfter = await steadyReading(kernelMemoryBytes);
    rssAfter = process.memoryUsage().rss;
    for (const id of ids) {
      const pids = await cgroupPidsOf(id);
      processCount += pids.length;
      for (const pid of pids) {
        const m = await processMemory(pid);
        if (m) {
          pss += m.pss;
          rss += m.rss;
        }
      }
      cgroupBytes += (await cgroupMemoryBytes(id)) ?? 0;
    }
    const per = (bytes: number) => bytes / Math.max(1, ids.length) / MB;
    const row = (metric: string, value: number, note?: string) => results.value({ scenario: SCENARIO_4, tier: tier.name, via: 'engine', metric, unit: 'MB', value, ...(note ? { note } : {}) });
    row('host memory per sandbox (MemAvailable Δ)', per(memBefore - memAfter), 'everything; noisy when others use the host');
    row('host memory per sandbox (PSS + kernel Δ)', per(pss + kernelAfter - kernelBefore), 'processes + slab, stacks, page tables');
    row('PSS per sandbox (its processes)', per(pss), `${(processCount / Math.max(1, ids.length)).toFixed(1)} processes each`);
    row('kernel memory per sandbox (Δ SUnreclaim+KernelStack+PageTables)', per(kernelAfter - kernelBefore));
    row('RSS per sandbox (its processes)', per(rss));
    row('cgroup memory per sandbox', per(cgroupBytes), 'memory.usage_in_bytes');
    row('engine RSS growth per sandbox', per(rssAfter - rssBefore));
    log.step(`${SCENARIO_4} on ${tier.name}: tearing down ${ids.length}`);
    const t1 = nowMs();
    await pool(ids.length, options.densityConcurrency, async (i) => {
      await engine.lifecycle.destroy(ids[i]!).catch((err: Error) => failures.push(`destroy ${ids[i]}: ${err.message}`));
    });
    teardownMs = nowMs() - t1;
    ids.length = 0;
    results.value({ scenario: SCENARIO_4, tier: tier.name, via: 'engine', metric: `tear down all`, unit: 's', value: teardownMs / 1000 });
    const leaks = await findLeaks(tier.backendDir, tier.timed.ids, tier.instanceDirs);
    results.value({ scenario: SCENARIO_4, tier: tier.name, via: 'engine', metric: 'leaks after teardown', unit: 'count', value: leakCount(leaks), note: leakCount(leaks) === 0 ? 'none' : JSON.stringify(leaks).slice(0, 300) });
    if (failures.length) ctx.results.report.errors.push(...failures.slice(0, 20).map((f) => `density: ${f}`));
    return {
      n,
      started,
      startAllMs,
      teardownAllMs: teardownMs,
      memAvailableDeltaBytes: memBefore - memAfter,
      kernelDeltaBytes: kernelAfter - kernelBefore,
      pssBytes: pss,
      rssBytes: rss,
      cgroupMemoryBytes: cgroupBytes,
      engineRssDeltaBytes: rssAfter - rssBefore,
      processesPerSandbox: processCount / Math.max(1, started),
      leaks,
    };
  } finally {
    // On failure part-way, whatever is still up goes (the main cleanup would also catch it).
    for (const id of ids) await engine.lifecycle.destroy(id).catch(() => undefined);
  }
}
