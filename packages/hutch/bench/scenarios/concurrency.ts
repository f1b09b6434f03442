/**
 * Scenario 5: concurrency. C clients (default 50) each run create → exec `true` → destroy in a
 * loop, all at once, through the engine and through HTTP + SDK. Reports throughput (completed
 * cycles per second of wall time) and the latency of a whole cycle and of its create step.
 */
import { Sandbox } from '@hutch/sdk';
import type { BenchContext } from '../context.js';
import { nowMs, Samples } from '../stats.js';
import type { Tier } from '../tiers.js';

export const SCENARIO_5 = '5 concurrency';

type Cycle = (samples: Samples) => Promise<void>;

function engineCycle(tier: Tier): Cycle {
  return async (samples) => {
    const t0 = nowMs();
    const { id } = await tier.engine.lifecycle.create({ ...tier.request });
    const t1 = nowMs();
    try {
      await tier.engine.processes.run(id, { cmd: 'true' });
    } finally {
      await tier.engine.lifecycle.destroy(id);
    }
    samples.add('create', t1 - t0);
    samples.add('cycle', nowMs() - t0);
  };
}

function httpCycle(tier: Tier): Cycle {
  const { url, apiKey } = tier.http!;
  return async (samples) => {
    const t0 = nowMs();
    const sandbox = await Sandbox.create({ ...tier.request, apiUrl: url, apiKey, requestTimeoutMs: 120_000 });
    const t1 = nowMs();
    try {
      await sandbox.commands.run(['true']);
    } finally {
      await sandbox.destroy();
    }
    samples.add('create', t1 - t0);
    samples.add('cycle', nowMs() - t0);
  };
}

async function drive(clients: number, perClient: number, cycle: Cycle): Promise<{ samples: Samples; wallMs: number; errors: string[] }> {
  const samples = new Samples();
  const errors: string[] = [];
  const t0 = nowMs();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = 0; i < perClient; i++) await cycle(samples).catch((err: Error) => void errors.push(err.message));
    }),
  );
  return { samples, wallMs: nowMs() - t0, errors };
}

export async function runConcurrency(ctx: BenchContext, tier: Tier): Promise<void> {
  const { options, log, results } = ctx;
  const clients = options.clients;
  const perClient = options.quick ? 1 : 3;
  const paths: Array<[string, Cycle | undefined]> = [['engine', engineCycle(tier)], ['http+sdk', tier.http ? httpCycle(tier) : undefined]];
  for (const [via, cycle] of paths) {
    if (!cycle) {
      results.skip(SCENARIO_5, tier.name, `http+sdk: ${tier.httpSkip}`);
      continue;
    }
    log.step(`${SCENARIO_5} on ${tier.name}: ${via}, ${clients} clients × ${perClient} cycles`);
    const { samples, wallMs, errors } = await drive(clients, perClient, cycle);
    const done = samples.get('cycle').length;
    const base = { scenario: SCENARIO_5, tier: tier.name, via };
    results.value({ ...base, metric: `throughput, ${clients} clients`, unit: 'ops/s', value: done / (wallMs / 1000), note: `${done} cycles in ${(wallMs / 1000).toFixed(1)} s${errors.length ? `, ${errors.length} failed` : ''}` });
    results.latency({ ...base, metric: 'cycle create→exec→destroy' }, samples.get('cycle'));
    results.latency({ ...base, metric: 'create under load' }, samples.get('create'));
    if (errors.length) results.report.errors.push(...errors.slice(0, 10).map((e) => `concurrency ${via}: ${e}`));
  }
}
