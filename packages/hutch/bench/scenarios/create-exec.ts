/**
 * Scenario 1: create → first exec (`true`) → destroy, one at a time, through the engine (host
 * root, and the `base` template when enabled) and through HTTP + SDK. Baseline: the bare bwrap
 * line (process tier) or bare crun create+start+exec (container tier), measured in this run.
 * The backend's own share of each step comes from the timing proxy (engine overhead = the rest).
 */
import { Sandbox } from '@hutch/sdk';
import { BARE_BWRAP, timeSpawn } from '../baselines.js';
import { median, recordingBackend, type BenchContext } from '../context.js';
import type { Row } from '../report.js';
import { nowMs, Samples } from '../stats.js';
import type { Tier } from '../tiers.js';

export const SCENARIO_1 = '1 create→exec→destroy';

export interface LoopSpec {
  label: string;
  create(): Promise<{ id: string; exec(): Promise<void>; destroy(): Promise<void> }>;
}

/**
 * Runs create → exec → destroy `n` times after `warmup` unrecorded rounds; returns the samples.
 * `baseline`, when given, runs once per round too (series `baseline`), so the raw mechanism is
 * measured under the same host load as the product, round by round.
 */
export async function createExecLoop(spec: LoopSpec, n: number, warmup: number, baseline?: () => Promise<number>): Promise<Samples> {
  const samples = new Samples();
  for (let i = 0; i < warmup + n; i++) {
    const base = baseline ? await baseline() : undefined;
    if (base !== undefined && i >= warmup) samples.add('baseline', base);
    const t0 = nowMs();
    const sbx = await spec.create();
    const t1 = nowMs();
    try {
      await sbx.exec();
    } catch (err) {
      await sbx.destroy().catch(() => undefined);
      throw err;
    }
    const t2 = nowMs();
    await sbx.destroy();
    const t3 = nowMs();
    if (i < warmup) continue;
    samples.add('create', t1 - t0);
    samples.add('exec', t2 - t1);
    samples.add('createToExec', t2 - t0);
    samples.add('destroy', t3 - t2);
    samples.add('total', t3 - t0);
  }
  return samples;
}

export function engineLoop(tier: Tier, template?: string): LoopSpec {
  const { engine } = tier;
  return {
    label: template ? `engine, template ${template}` : 'engine',
    async create() {
      const { id } = await engine.lifecycle.create(template ? { template } : { ...tier.request });
      return {
        id,
        exec: async () => {
          const r = await engine.processes.run(id, { cmd: 'true' });
          if (r.exitCode !== 0) throw new Error(`true exited ${r.exitCode} in ${id}: ${r.stderr}`);
        },
        destroy: async () => void (await engine.lifecycle.destroy(id)),
      };
    },
  };
}

export function httpLoop(tier: Tier): LoopSpec {
  const { url, apiKey } = tier.http!;
  return {
    label: 'http+sdk',
    async create() {
      const sandbox = await Sandbox.create({ ...tier.request, apiUrl: url, apiKey });
      return {
        id: sandbox.id,
        exec: async () => {
          const r = await sandbox.commands.run(['true']);
          if (r.exitCode !== 0) throw new Error(`true exited ${r.exitCode} in ${sandbox.id}`);
        },
        destroy: async () => void (await sandbox.destroy()),
      };
    },
  };
}

/**
 * The baseline for "create → first exec" on a tier, or undefined when it was not measured. For the
 * process tier, `interleaved` (bare bwrap samples taken between the rounds) wins over the samples
 * taken at the start of the run.
 */
export function createBaseline(ctx: BenchContext, tier: string, interleaved?: number[]): Row['baseline'] {
  if (tier === 'process') return interleaved?.length ? { name: 'bare bwrap true, interleaved', p50: median(interleaved) } : { name: 'bare bwrap true', p50: median(ctx.baselines.bwrap) };
  const crun = ctx.baselines.crun;
  if ('skip' in crun) return undefined;
  return { name: 'bare crun create+start+exec', p50: median(crun.createToExec) };
}

function addLoopRows(ctx: BenchContext, tier: Tier, via: string, samples: Samples, note?: string): void {
  const { results } = ctx;
  const base = { scenario: SCENARIO_1, tier: tier.name, via, ...(note ? { note } : {}) };
  results.latency({ ...base, metric: 'create→first exec', baseline: createBaseline(ctx, tier.name, samples.get('baseline')) }, samples.get('createToExec'));
  if (samples.get('baseline').length) results.latency({ ...base, via: 'baseline', metric: 'bare bwrap true, interleaved with the rounds above' }, samples.get('baseline'));
  results.latency({ ...base, metric: 'create (to running)' }, samples.get('create'));
  results.latency({ ...base, metric: 'first exec `true`' }, samples.get('exec'));
  results.latency({ ...base, metric: 'destroy' }, samples.get('destroy'));
  results.latency({ ...base, metric: 'create→exec→destroy' }, samples.get('total'));
}

export async function runCreateExec(ctx: BenchContext, tier: Tier, templateReady: boolean): Promise<void> {
  const { options, log, results } = ctx;
  const n = options.iterations;
  log.step(`${SCENARIO_1} on ${tier.name}: engine ×${n}`);
  const bwrap = tier.name === 'process' ? () => timeSpawn(BARE_BWRAP) : undefined;
  const engineSamples = await recordingBackend(tier, () => createExecLoop(engineLoop(tier), n, 3, bwrap));
  const tierNote = tier.request.template ? `template ${tier.request.template}` : undefined;
  addLoopRows(ctx, tier, 'engine', engineSamples, tierNote);
  const backend = tier.timed.samples;
  for (const [call, label] of [['create', 'backend.create (prepare)'], ['start', 'backend.start (init up)'], ['exec', 'backend.exec (to pid known)'], ['destroy', 'backend.destroy']] as const) {
    results.latency({ scenario: SCENARIO_1, tier: tier.name, via: 'backend', metric: label }, backend.get(call));
  }
  const engineOverhead = median(engineSamples.get('create')) - median(backend.get('create')) - median(backend.get('start'));
  results.value({ scenario: SCENARIO_1, tier: tier.name, via: 'engine', metric: 'engine overhead in create (p50 diff)', unit: 'ms', value: engineOverhead });

  if (templateReady) {
    const m = Math.max(5, Math.round(n / 2));
    log.step(`${SCENARIO_1} on ${tier.name}: engine, template base ×${m}`);
    addLoopRows(ctx, tier, 'engine', await createExecLoop(engineLoop(tier, 'base'), m, 2), 'template base');
  } else if (!tier.request.template) {
    results.skip(SCENARIO_1, tier.name, 'template base variant: disabled (--no-template) or not buildable here');
  }

  if (tier.http) {
    log.step(`${SCENARIO_1} on ${tier.name}: http+sdk ×${n}`);
    addLoopRows(ctx, tier, 'http+sdk', await createExecLoop(httpLoop(tier), n, 3, bwrap), tierNote);
  } else {
    results.skip(SCENARIO_1, tier.name, `http+sdk: ${tier.httpSkip}`);
  }
}
