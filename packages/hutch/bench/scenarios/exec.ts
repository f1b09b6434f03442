/**
 * Scenario 2: exec round trip in a running sandbox — `true`, and 1 MiB of stdout — through the
 * engine and through HTTP + SDK. Baselines: a plain `child_process.spawn` of the same command on
 * the host, and bare `crun exec` in a running container.
 */
import { Sandbox } from '@hutch/sdk';
import { median, recordingBackend, type BenchContext } from '../context.js';
import { HOST_1MB, ONE_MIB, timeSpawn } from '../baselines.js';
import { nowMs } from '../stats.js';
import type { Tier } from '../tiers.js';

export const SCENARIO_2 = '2 exec round trip';

const TRUE = { cmd: 'true' };
const ONE_MB = { cmd: 'head', args: ['-c', String(ONE_MIB), '/dev/zero'] };

/** Times `fn` n times after `warmup` rounds; `baseline` (if any) runs once per round into `baseOut`. */
async function loop(n: number, warmup: number, fn: () => Promise<void>, baseline?: () => Promise<number>, baseOut?: number[]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < warmup + n; i++) {
    const base = baseline ? await baseline() : undefined;
    if (base !== undefined && i >= warmup) baseOut?.push(base);
    const t0 = nowMs();
    await fn();
    if (i >= warmup) out.push(nowMs() - t0);
  }
  return out;
}

export async function runExec(ctx: BenchContext, tier: Tier): Promise<void> {
  const { options, log, results, baselines } = ctx;
  const n = options.execIterations;
  const crun = 'skip' in baselines.crun ? undefined : baselines.crun;
  // Process tier: the host spawns are re-measured between the rounds (same load as the product).
  const spawnTrue: number[] = [];
  const spawnMb: number[] = [];
  const isProcess = tier.name === 'process';
  const trueBase = () => (isProcess ? { name: 'spawn true, interleaved', p50: median(spawnTrue) } : crun && { name: 'bare crun exec true', p50: median(crun.execTrue) });
  const mbBase = () => (isProcess ? { name: 'spawn head -c 1MiB, interleaved', p50: median(spawnMb) } : crun && { name: 'bare crun exec head 1MiB', p50: median(crun.exec1Mb) });
  const spawnTrueOnce = isProcess ? () => timeSpawn(['/bin/true']) : undefined;
  const spawnMbOnce = isProcess ? () => timeSpawn(HOST_1MB) : undefined;
  const { engine } = tier;
  const { id } = await engine.lifecycle.create({ ...tier.request });
  try {
    log.step(`${SCENARIO_2} on ${tier.name}: engine ×${n} (true, 1 MiB)`);
    const engineTrue = await recordingBackend(tier, () => loop(n, 3, async () => void (await engine.processes.run(id, TRUE)), spawnTrueOnce, spawnTrue));
    const backendExec = tier.timed.samples.get('exec');
    const engineMb = await loop(n, 2, async () => {
      const r = await engine.processes.run(id, ONE_MB);
      if (r.stdout.length !== ONE_MIB) throw new Error(`1 MiB exec returned ${r.stdout.length} bytes`);
    }, spawnMbOnce, spawnMb);
    results.latency({ scenario: SCENARIO_2, tier: tier.name, via: 'engine', metric: 'exec `true`', baseline: trueBase() }, engineTrue);
    results.latency({ scenario: SCENARIO_2, tier: tier.name, via: 'backend', metric: 'backend.exec (to pid known)' }, backendExec);
    results.latency({ scenario: SCENARIO_2, tier: tier.name, via: 'engine', metric: 'exec 1 MiB stdout', baseline: mbBase() }, engineMb);
    if (isProcess) {
      results.latency({ scenario: SCENARIO_2, tier: 'host', via: 'baseline', metric: 'spawn true, interleaved with the rounds above' }, spawnTrue);
      results.latency({ scenario: SCENARIO_2, tier: 'host', via: 'baseline', metric: 'spawn head -c 1MiB, interleaved' }, spawnMb);
    }
  } finally {
    await engine.lifecycle.destroy(id);
  }
  if (!tier.http) {
    results.skip(SCENARIO_2, tier.name, `http+sdk: ${tier.httpSkip}`);
    return;
  }
  log.step(`${SCENARIO_2} on ${tier.name}: http+sdk ×${n} (true, 1 MiB)`);
  const sandbox = await Sandbox.create({ ...tier.request, apiUrl: tier.http.url, apiKey: tier.http.apiKey });
  try {
    const httpTrue = await loop(n, 3, async () => void (await sandbox.commands.run(['true'])));
    const httpMb = await loop(n, 2, async () => {
      const r = await sandbox.commands.run(['head', '-c', String(ONE_MIB), '/dev/zero']);
      if (r.stdout.length !== ONE_MIB) throw new Error(`1 MiB exec over HTTP returned ${r.stdout.length} bytes`);
    });
    results.latency({ scenario: SCENARIO_2, tier: tier.name, via: 'http+sdk', metric: 'exec `true`', baseline: trueBase() }, httpTrue);
    results.latency({ scenario: SCENARIO_2, tier: tier.name, via: 'http+sdk', metric: 'exec 1 MiB stdout', baseline: mbBase() }, httpMb);
  } finally {
    await sandbox.destroy();
  }
}

/** Baseline rows of this scenario (shown once per run). */
export function addExecBaselineRows(ctx: BenchContext): void {
  const { results, baselines } = ctx;
  results.latency({ scenario: SCENARIO_2, tier: 'host', via: 'baseline', metric: 'spawn true' }, baselines.spawnTrue);
  results.latency({ scenario: SCENARIO_2, tier: 'host', via: 'baseline', metric: 'spawn head -c 1MiB' }, baselines.spawn1Mb);
  if ('skip' in baselines.crun) return;
  results.latency({ scenario: SCENARIO_2, tier: 'container', via: 'baseline', metric: 'bare crun exec true' }, baselines.crun.execTrue);
  results.latency({ scenario: SCENARIO_2, tier: 'container', via: 'baseline', metric: 'bare crun exec head 1MiB' }, baselines.crun.exec1Mb);
}
