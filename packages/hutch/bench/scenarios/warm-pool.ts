/**
 * Scenario 3: create → first exec with a warm pool (`pools.configure({size: 4})`, waiting for
 * `pools.settled()` between iterations as a steady state would) against the same loop without a
 * pool, in the same run. The destroy after each iteration is not timed.
 */
import { Sandbox } from '@hutch/sdk';
import type { BenchContext } from '../context.js';
import { nowMs, Samples } from '../stats.js';
import type { Tier } from '../tiers.js';
import { createBaseline } from './create-exec.js';

export const SCENARIO_3 = '3 warm pool';
const POOL_SIZE = 4;

/** One create → exec round; records the create and exec steps too (the refill starts REFILL_DELAY_MS after the hand-off). */
async function engineRound(tier: Tier, steps: Samples): Promise<number> {
  const t0 = nowMs();
  const { id } = await tier.engine.lifecycle.create({ ...tier.request });
  const t1 = nowMs();
  await tier.engine.processes.run(id, { cmd: 'true' });
  const t2 = nowMs();
  steps.add('create', t1 - t0);
  steps.add('exec', t2 - t1);
  await tier.engine.lifecycle.destroy(id);
  return t2 - t0;
}

async function httpRound(tier: Tier): Promise<number> {
  const t0 = nowMs();
  const sandbox = await Sandbox.create({ ...tier.request, apiUrl: tier.http!.url, apiKey: tier.http!.apiKey });
  await sandbox.commands.run(['true']);
  const ms = nowMs() - t0;
  await sandbox.destroy();
  return ms;
}

async function rounds(n: number, settle: () => Promise<void>, round: () => Promise<number>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n + 1; i++) {
    await settle();
    const ms = await round();
    if (i > 0) out.push(ms);
  }
  return out;
}

export async function runWarmPool(ctx: BenchContext, tier: Tier): Promise<void> {
  const { options, log, results } = ctx;
  const n = options.iterations;
  const { engine } = tier;
  const baseline = createBaseline(ctx, tier.name);
  log.step(`${SCENARIO_3} on ${tier.name}: without pool ×${n}`);
  const cold = await rounds(n, async () => undefined, () => engineRound(tier, new Samples()));
  results.latency({ scenario: SCENARIO_3, tier: tier.name, via: 'engine', metric: 'create→first exec, no pool', baseline }, cold);

  log.step(`${SCENARIO_3} on ${tier.name}: pool of ${POOL_SIZE}, ×${n} (settled between)`);
  const fillStart = nowMs();
  engine.pools.configure({ ...tier.request, size: POOL_SIZE });
  await engine.pools.settled();
  results.value({ scenario: SCENARIO_3, tier: tier.name, via: 'engine', metric: `fill a pool of ${POOL_SIZE}`, unit: 'ms', value: nowMs() - fillStart });
  try {
    const before = engine.pools.status()[0]?.handedOff ?? 0;
    const settle = () => engine.pools.settled();
    const steps = new Samples();
    const warm = await rounds(n, settle, () => engineRound(tier, steps));
    const handed = (engine.pools.status()[0]?.handedOff ?? 0) - before;
    results.latency({ scenario: SCENARIO_3, tier: tier.name, via: 'engine', metric: 'create→first exec, warm pool', baseline, note: `${handed} of ${n + 1} from the pool` }, warm);
    results.latency({ scenario: SCENARIO_3, tier: tier.name, via: 'engine', metric: 'create (pool hand-off)' }, steps.get('create').slice(1));
    results.latency({ scenario: SCENARIO_3, tier: tier.name, via: 'engine', metric: 'first exec after hand-off (refill delayed)' }, steps.get('exec').slice(1));
    if (tier.http) {
      log.step(`${SCENARIO_3} on ${tier.name}: http+sdk with pool ×${n}`);
      const b2 = engine.pools.status()[0]?.handedOff ?? 0;
      const warmHttp = await rounds(n, settle, () => httpRound(tier));
      const handedHttp = (engine.pools.status()[0]?.handedOff ?? 0) - b2;
      results.latency({ scenario: SCENARIO_3, tier: tier.name, via: 'http+sdk', metric: 'create→first exec, warm pool', baseline, note: `${handedHttp} of ${n + 1} from the pool` }, warmHttp);
    } else {
      results.skip(SCENARIO_3, tier.name, `http+sdk: ${tier.httpSkip}`);
    }
  } finally {
    // Size 0 makes the next refill pass destroy every pooled sandbox.
    engine.pools.configure({ ...tier.request, size: 0 });
    await engine.pools.settled();
  }
}
