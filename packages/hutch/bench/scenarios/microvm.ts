/**
 * Scenario `microvm`: the microVM tier's boot, restore and idle memory, each row labelled with the
 * acceleration (`microvm (tcg)` / `microvm (kvm)`), beside bare QEMU measured in the same run
 * (microvm-baselines.ts), rounds interleaved so both see the same host load:
 * - VMM start: bare QEMU `-S` → QMP ready → `quit` → exited (no guest runs);
 * - cold boot: a create never boots (it restores the template snapshot), so the cold boot is
 *   measured where the tier does it: engine `start` of a stopped sandbox → first exec `true`;
 *   baseline: bare QEMU boot of the same kernel/initramfs/image → the agent's first answer;
 * - restore from the template snapshot: engine create → first exec (the normal create path);
 *   baseline: bare QEMU restore of the same template snapshot → the agent's first answer;
 * - restore from one sandbox memory snapshot: engine snapshot of a running VM, then k restores
 *   of it → first exec;
 * - density: k idle VMs, host MemAvailable delta and QEMU RSS/PSS per VM (guest memory stated),
 *   idle CPU per VM, VMs started per core per second; then teardown and a leak check.
 * Sample sizes are small (quick: 3/3/4) because one TCG boot takes seconds.
 */
import { cpus } from 'node:os';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { vmShape, type Accel, type VmShape } from '../../src/backends/microvm/plan.js';
import type { Engine } from '../../src/engine/engine.js';
import { median, recordingBackend, type BenchContext } from '../context.js';
import { findLeaks, leakCount, memAvailableBytes, processMemory, steadyReading } from '../host.js';
import { bareColdBoot, bareRestore, bareStart, resolveBareInputs, type BareQemuInputs } from '../microvm-baselines.js';
import { nowMs, pool, Samples } from '../stats.js';
import type { Tier } from '../tiers.js';
import { cpuTicksFromStat, creationRatePerCore, idleCpuPercent, microvmLabel, vmMemoryFigures, type VmMemorySample } from '../vm-figures.js';

export const SCENARIO_MICROVM = '7 microvm';
const run = promisify(execFile);

/** What every step needs: the context, the tier, its row label, the bare inputs and a name counter. */
interface Step {
  ctx: BenchContext;
  tier: Tier;
  label: string;
  shape: VmShape;
  bare: BareQemuInputs;
  bareDir: string;
  seq: { next: number };
}

async function runTrue(engine: Engine, id: string): Promise<void> {
  const r = await engine.processes.run(id, { cmd: 'true' });
  if (r.exitCode !== 0) throw new Error(`true exited ${r.exitCode} in ${id}: ${r.stderr}`);
}

function rows(s: Step) {
  const base = { scenario: SCENARIO_MICROVM, tier: s.label };
  return {
    latency: (via: string, metric: string, samples: number[], extra: { baseline?: { name: string; p50: number }; note?: string } = {}) =>
      s.ctx.results.latency({ ...base, via, metric, ...extra }, samples),
    value: (metric: string, unit: 'ms' | 's' | 'MiB' | '%' | 'ops/s' | 'count', value: number, note?: string) =>
      s.ctx.results.value({ ...base, via: 'engine', metric, unit, value, ...(note ? { note } : {}) }),
  };
}

/** Bare QEMU: `-S` start → QMP ready → quit → exited. */
async function vmmStart(s: Step): Promise<void> {
  const n = s.ctx.options.microvm.restores + 2;
  s.ctx.log.step(`${SCENARIO_MICROVM} on ${s.label}: bare QEMU -S start → QMP → quit ×${n}`);
  const ready: number[] = [];
  const exited: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await bareStart(s.bare, s.bareDir, s.seq.next++);
    ready.push(r.qmpReadyMs);
    exited.push(r.exitedMs);
  }
  rows(s).latency('baseline', 'bare QEMU -S start → QMP ready (machine built, kernel loaded, paused)', ready);
  rows(s).latency('baseline', 'bare QEMU -S start → QMP quit → exited', exited);
}

/** Cold boot: engine start of a stopped VM → first exec, interleaved with a bare QEMU boot. */
async function coldBoots(s: Step): Promise<void> {
  const { engine } = s.tier;
  const n = s.ctx.options.microvm.coldBoots;
  s.ctx.log.step(`${SCENARIO_MICROVM} on ${s.label}: ${n} cold boots (engine stop → start → exec), each beside a bare QEMU boot`);
  const samples = new Samples();
  for (let i = 0; i < n; i++) {
    samples.add('bare', await bareColdBoot(s.bare, s.bareDir, s.seq.next++));
    const { id } = await engine.lifecycle.create({ ...s.tier.request });
    try {
      await engine.lifecycle.stop(id);
      const t0 = nowMs();
      await engine.lifecycle.start(id);
      const t1 = nowMs();
      await runTrue(engine, id);
      samples.add('start', t1 - t0);
      samples.add('exec', nowMs() - t1);
      samples.add('total', nowMs() - t0);
    } finally {
      await engine.lifecycle.destroy(id);
    }
  }
  const bare = samples.get('bare');
  const r = rows(s);
  r.latency('baseline', 'bare QEMU cold boot → agent first answer (same kernel, initramfs, image)', bare);
  r.latency('engine', 'cold boot → first exec (start of a stopped VM)', samples.get('total'), { baseline: { name: 'bare QEMU cold boot', p50: median(bare) } });
  r.latency('engine', 'cold boot: start (to running)', samples.get('start'));
  r.latency('engine', 'cold boot: first exec `true`', samples.get('exec'));
}

/** The normal create: restore of the template snapshot → first exec, interleaved with a bare restore. */
async function templateRestores(s: Step, snapshotDir: string | undefined): Promise<void> {
  const { engine } = s.tier;
  const n = s.ctx.options.microvm.restores;
  s.ctx.log.step(`${SCENARIO_MICROVM} on ${s.label}: ${n} creates (restore of the template snapshot) → exec${snapshotDir ? ', each beside a bare QEMU restore' : ''}`);
  const samples = new Samples();
  await recordingBackend(s.tier, async () => {
    for (let i = 0; i < n; i++) {
      if (snapshotDir) {
        const b = await bareRestore(s.bare, snapshotDir, s.bareDir, s.seq.next++);
        samples.add('bare', b.restoreMs);
        samples.add('overlay', b.overlayMs);
      }
      const t0 = nowMs();
      const { id } = await engine.lifecycle.create({ ...s.tier.request });
      const t1 = nowMs();
      await runTrue(engine, id).catch(async (err: unknown) => {
        await engine.lifecycle.destroy(id).catch(() => undefined);
        throw err;
      });
      const t2 = nowMs();
      await engine.lifecycle.destroy(id);
      samples.add('create', t1 - t0);
      samples.add('exec', t2 - t1);
      samples.add('total', t2 - t0);
      samples.add('destroy', nowMs() - t2);
    }
  });
  const r = rows(s);
  const bare = samples.get('bare');
  if (bare.length) {
    r.latency('baseline', 'bare QEMU restore of the template snapshot → agent first answer', bare);
    r.latency('baseline', 'bare qemu-img create (overlay on the snapshot disk)', samples.get('overlay'));
  } else {
    s.ctx.results.skip(SCENARIO_MICROVM, s.label, 'bare restore baseline: the template snapshot was not found in the cache');
  }
  r.latency('engine', 'create (restore of the template snapshot) → first exec', samples.get('total'), bare.length ? { baseline: { name: 'bare QEMU restore', p50: median(bare) } } : {});
  r.latency('engine', 'create (to running)', samples.get('create'));
  r.latency('backend', 'backend.start (overlay + restore + hello)', s.tier.timed.samples.get('start'));
  r.latency('engine', 'first exec `true`', samples.get('exec'));
  r.latency('engine', 'destroy', samples.get('destroy'));
}

/** One sandbox memory snapshot of a running VM, restored k times → first exec. */
async function snapshotRestores(s: Step): Promise<void> {
  const { engine } = s.tier;
  const n = s.ctx.options.microvm.restores;
  s.ctx.log.step(`${SCENARIO_MICROVM} on ${s.label}: snapshot one VM (memory + disk), restore it ${n} times → exec`);
  const { id } = await engine.lifecycle.create({ ...s.tier.request });
  const live = new Set<string>([id]);
  let snapshotId: string | undefined;
  try {
    await runTrue(engine, id);
    const t0 = nowMs();
    const snap = await engine.snapshots.create(id);
    const snapshotMs = nowMs() - t0;
    snapshotId = snap.id;
    const samples = new Samples();
    for (let i = 0; i < n; i++) {
      const t1 = nowMs();
      const restored = await engine.snapshots.restore(snap.id);
      live.add(restored.id);
      const t2 = nowMs();
      await runTrue(engine, restored.id);
      samples.add('restore', t2 - t1);
      samples.add('total', nowMs() - t1);
      await engine.lifecycle.destroy(restored.id);
      live.delete(restored.id);
    }
    const r = rows(s);
    r.value('snapshot of a running VM (memory + disk)', 'ms', snapshotMs, `${(snap.sizeBytes / 1024 ** 2).toFixed(1)} MiB, RAM in the stream`);
    r.latency('engine', 'restore from one memory snapshot → first exec', samples.get('total'));
    r.latency('engine', 'restore from one memory snapshot (to running)', samples.get('restore'));
  } finally {
    for (const sid of live) await engine.lifecycle.destroy(sid).catch(() => undefined);
    if (snapshotId) await engine.snapshots.delete(snapshotId).catch(() => undefined);
  }
}

export interface MicrovmDensityDetails {
  vms: number;
  guestMemoryMib: number;
  startAllMs: number;
  memAvailableDeltaBytes: number;
  perVm: VmMemorySample[];
  idleCpuPercent: number;
  leaks: Awaited<ReturnType<typeof findLeaks>>;
}

/** Reads each VM's QEMU pid from the backend's pidfile. */
async function qemuPids(tier: Tier, ids: readonly string[]): Promise<number[]> {
  const pids: number[] = [];
  for (const id of ids) {
    const pid = Number((await readFile(join(tier.backendDir, 'vms', id, 'qemu.pid'), 'utf8').catch(() => '')).trim());
    if (pid > 0) pids.push(pid);
  }
  return pids;
}

async function cpuTicks(pids: readonly number[]): Promise<number[]> {
  return Promise.all(pids.map(async (pid) => cpuTicksFromStat(await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')) ?? 0));
}

/** k idle VMs: memory and CPU per VM, creation rate, teardown, leaks. */
async function density(s: Step): Promise<MicrovmDensityDetails> {
  const { engine } = s.tier;
  const n = s.ctx.options.microvm.idleVms;
  const concurrency = 2;
  const ids: string[] = [];
  try {
    const memBefore = await steadyReading(memAvailableBytes);
    s.ctx.log.step(`${SCENARIO_MICROVM} on ${s.label}: starting ${n} idle VMs (${concurrency} at a time, ${s.shape.memoryMib} MiB each)`);
    const t0 = nowMs();
    await pool(n, concurrency, async () => void ids.push((await engine.lifecycle.create({ ...s.tier.request, metadata: { bench: 'microvm-density' } })).id));
    const startAllMs = nowMs() - t0;
    await sleep(3000);
    const memAfter = await steadyReading(memAvailableBytes);
    const pids = await qemuPids(s.tier, ids);
    const perVm: VmMemorySample[] = [];
    for (const pid of pids) {
      const m = await processMemory(pid);
      if (m) perVm.push({ rssBytes: m.rss, pssBytes: m.pss });
    }
    const cpuSeconds = 5;
    const ticks0 = await cpuTicks(pids);
    await sleep(cpuSeconds * 1000);
    const ticks1 = await cpuTicks(pids);
    const hz = Number((await run('/usr/bin/getconf', ['CLK_TCK'])).stdout.trim()) || 100;
    const cpu = idleCpuPercent(ticks0, ticks1, hz, cpuSeconds);
    const mem = vmMemoryFigures(ids.length, memBefore, memAfter, perVm);
    const r = rows(s);
    r.value(`start ${n} idle VMs`, 's', startAllMs / 1000, `${concurrency} at a time`);
    r.value('VMs started per host core per second', 'ops/s', creationRatePerCore(ids.length, startAllMs, cpus().length), `${ids.length} VMs on ${cpus().length} cores`);
    r.value('guest memory per VM (configured)', 'MiB', s.shape.memoryMib, `${s.shape.vcpus} vCPU`);
    r.value('host memory per idle VM (MemAvailable Δ)', 'MiB', mem.memAvailableDeltaMib, `${ids.length} VMs; noisy when others use the host`);
    r.value('QEMU RSS per idle VM', 'MiB', mem.rssMib, `mean of ${mem.measured}`);
    r.value('QEMU PSS per idle VM', 'MiB', mem.pssMib, 'template RAM pages shared copy-on-write');
    r.value('idle CPU per VM', '%', cpu, `of one core, over ${cpuSeconds} s`);
    s.ctx.log.step(`${SCENARIO_MICROVM} on ${s.label}: tearing down ${ids.length}`);
    const t1 = nowMs();
    for (const id of ids.splice(0)) await engine.lifecycle.destroy(id);
    r.value('tear down all', 's', (nowMs() - t1) / 1000);
    const leaks = await findLeaks(s.tier.backendDir, s.tier.timed.ids, s.tier.instanceDirs.filter((d) => d !== 'bare'));
    r.value('leaks after teardown', 'count', leakCount(leaks), leakCount(leaks) === 0 ? 'none' : JSON.stringify(leaks).slice(0, 300));
    return { vms: n, guestMemoryMib: s.shape.memoryMib, startAllMs, memAvailableDeltaBytes: memBefore - memAfter, perVm, idleCpuPercent: cpu, leaks };
  } finally {
    for (const id of ids) await engine.lifecycle.destroy(id).catch(() => undefined);
  }
}

/** Runs the whole microVM scenario on `tier` (opened with the `base` template) under `accel`. */
export async function runMicrovm(ctx: BenchContext, tier: Tier, accel: string): Promise<Record<string, unknown>> {
  const label = microvmLabel(accel);
  const shape = vmShape({ resources: {}, network: { mode: 'none' } });
  ctx.log.step(`${SCENARIO_MICROVM} on ${label}: first create (builds the template snapshot unless cached)`);
  const t0 = nowMs();
  const first = await tier.engine.lifecycle.create({ ...tier.request });
  try {
    await runTrue(tier.engine, first.id);
  } finally {
    await tier.engine.lifecycle.destroy(first.id);
  }
  ctx.results.value({ scenario: SCENARIO_MICROVM, tier: label, via: 'engine', metric: 'first create→exec→destroy (template snapshot from cache or built)', unit: 's', value: (nowMs() - t0) / 1000 });
  const { rootfsPath } = await tier.templates.resolve(tier.request.template ?? 'base');
  const { inputs, templateSnapshotDir } = await resolveBareInputs(accel as Accel, rootfsPath, shape);
  const step: Step = { ctx, tier, label, shape, bare: inputs, bareDir: join(tier.backendDir, 'bare'), seq: { next: 0 } };
  const details: Record<string, unknown> = { accel, shape };
  // Between steps, an interrupt (SIGINT/SIGTERM) stops the scenario so cleanup can run.
  const steps: Array<[string, () => Promise<unknown>]> = [
    ['vmmStart', () => vmmStart(step)],
    ['coldBoots', () => coldBoots(step)],
    ['templateRestores', () => templateRestores(step, templateSnapshotDir)],
    ['snapshotRestores', () => snapshotRestores(step)],
    ['density', () => density(step)],
  ];
  try {
    for (const [name, fn] of steps) {
      if (ctx.interrupted.value) break;
      const result = await fn();
      if (result !== undefined) details[name] = result;
    }
    return details;
  } finally {
    await rm(step.bareDir, { recursive: true, force: true });
  }
}
