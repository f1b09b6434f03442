/**
 * `npm run bench [-- --quick | --n 1000 | --only 1,2 ...]`: Hutch's benchmark harness. Runs every
 * scenario on every tier this machine supports, each beside its raw baseline measured in the same
 * run, prints a table on stdout (progress on stderr) and writes bench/results/latest.json.
 * Scenarios live in scenarios/, one per file; options are documented in args.ts. The microVM tier
 * runs only its own scenario (`microvm`), and only with HUTCH_MICROVM_ACCEL set or usable KVM.
 *
 * Everything runs under a fresh scratch directory in /var/tmp (mode 0711, so the sandboxes' host
 * uid 100000 can traverse it) that is removed at the end, after every sandbox is destroyed and
 * the leak check has run — also when a scenario fails or the run is interrupted.
 */
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname } from 'node:path';
import { BARE_BWRAP, crunSkipReason, HOST_1MB, measureCrun, sampleSpawn } from './baselines.js';
import { parseArgs, UsageError } from './args.js';
import { closeTiers, removeRoot } from './cleanup.js';
import type { BenchContext, BenchOptions, Baselines } from './context.js';
import { leakCount, machineInfo } from './host.js';
import { createLog, type BenchLog } from './log.js';
import { runProfile } from './profile.js';
import { renderSkips, renderTable, renderVerdicts, Results } from './report.js';
import { runConcurrency } from './scenarios/concurrency.js';
import { runCreateExec, SCENARIO_1 } from './scenarios/create-exec.js';
import { runDensity } from './scenarios/density.js';
import { runMicrovm, SCENARIO_MICROVM } from './scenarios/microvm.js';
import { addExecBaselineRows, runExec } from './scenarios/exec.js';
import { runSnapshot } from './scenarios/snapshot.js';
import { runWarmPool } from './scenarios/warm-pool.js';
import { nowMs } from './stats.js';
import { containerBackend, microvmBackend, openTier, processBackend, type Tier } from './tiers.js';
import { microvmLabel } from './vm-figures.js';
import { computeVerdicts } from './verdicts.js';

async function measureBaselines(options: BenchOptions, root: string, log: BenchLog): Promise<Baselines> {
  const n = options.quick ? 30 : 100;
  log.step(`baselines: spawn true, spawn head 1 MiB, bare bwrap true (×${n} each)`);
  const spawnTrue = await sampleSpawn(['/bin/true'], n);
  const spawn1Mb = await sampleSpawn(HOST_1MB, n);
  const bwrap = await sampleSpawn(BARE_BWRAP, n);
  const skip = options.tiers.has('container') ? await crunSkipReason() : 'container tier not selected (--tiers)';
  if (skip) return { spawnTrue, spawn1Mb, bwrap, crun: { skip } };
  log.step(`baselines: bare crun create/start/exec/delete ×${options.quick ? 15 : 50}, exec ×${n}`);
  try {
    return { spawnTrue, spawn1Mb, bwrap, crun: await measureCrun(root, options.quick ? 15 : 50, n) };
  } catch (err) {
    return { spawnTrue, spawn1Mb, bwrap, crun: { skip: (err as Error).message } };
  }
}

function addCreateBaselineRows(ctx: BenchContext): void {
  const { results, baselines } = ctx;
  results.latency({ scenario: SCENARIO_1, tier: 'process', via: 'baseline', metric: 'bare bwrap true' }, baselines.bwrap);
  if ('skip' in baselines.crun) {
    results.skip(SCENARIO_1, 'container', `bare crun baseline: ${baselines.crun.skip}`);
    return;
  }
  const c = baselines.crun;
  results.latency({ scenario: SCENARIO_1, tier: 'container', via: 'baseline', metric: 'bare crun create+start+exec' }, c.createToExec);
  results.latency({ scenario: SCENARIO_1, tier: 'container', via: 'baseline', metric: 'bare crun create' }, c.create);
  results.latency({ scenario: SCENARIO_1, tier: 'container', via: 'baseline', metric: 'bare crun start' }, c.start);
  results.latency({ scenario: SCENARIO_1, tier: 'container', via: 'baseline', metric: 'bare crun first exec' }, c.firstExec);
  results.latency({ scenario: SCENARIO_1, tier: 'container', via: 'baseline', metric: 'bare crun delete -f' }, c.delete);
}

/** Resolves the `base` template once (restored from the machine cache, or built); false if it cannot be. */
async function prepareTemplate(ctx: BenchContext, tier: Tier): Promise<boolean> {
  if (!ctx.options.template || tier.request.template) return false;
  ctx.log.step(`${tier.name}: preparing the base template (machine cache or debootstrap)`);
  const t0 = nowMs();
  try {
    await tier.templates.resolve('base');
    ctx.results.value({ scenario: SCENARIO_1, tier: tier.name, via: 'engine', metric: 'base template ready (one-time, from cache or built)', unit: 's', value: (nowMs() - t0) / 1000 });
    return true;
  } catch (err) {
    ctx.results.skip(SCENARIO_1, tier.name, `template base unavailable: ${(err as Error).message}`);
    return false;
  }
}

async function runScenarios(ctx: BenchContext, tiers: Tier[]): Promise<void> {
  const only = ctx.options.only;
  for (const tier of tiers) {
    const step = async (key: string, name: string, fn: () => Promise<unknown>) => {
      if (!only.has(key) || ctx.interrupted.value) return;
      try {
        await fn();
      } catch (err) {
        const message = `${name} on ${tier.name} failed: ${(err as Error).stack ?? String(err)}`;
        ctx.log.step(message);
        ctx.results.report.errors.push(message);
      }
    };
    await step('1', 'scenario 1', async () => runCreateExec(ctx, tier, await prepareTemplate(ctx, tier)));
    await step('2', 'scenario 2', () => runExec(ctx, tier));
    await step('3', 'scenario 3', () => runWarmPool(ctx, tier));
    await step('4', 'scenario 4', async () => (ctx.results.report.details[`density.${tier.name}`] = await runDensity(ctx, tier)));
    await step('5', 'scenario 5', () => runConcurrency(ctx, tier));
    await step('6', 'scenario 6', () => runSnapshot(ctx, tier));
    if (tier.name === 'process') await step('profile', 'profile', async () => (ctx.results.report.details['profile.process'] = await runProfile(ctx, tier)));
  }
}

/**
 * The microVM tier (its own engine, `base` template), or undefined with a skip row saying why:
 * it runs only with HUTCH_MICROVM_ACCEL set (`tcg` opts in to emulation) or usable KVM.
 */
async function openMicrovm(ctx: BenchContext, maxSandboxes: number): Promise<{ tier: Tier; accel: string } | undefined> {
  const found = await microvmBackend(ctx.root);
  if ('skip' in found) {
    ctx.log.step(`microvm tier skipped: ${found.skip}`);
    ctx.results.skip(SCENARIO_MICROVM, 'microvm', found.skip);
    return undefined;
  }
  try {
    const tier = await openTier('microvm', found.backend, found.dir, { root: ctx.root, maxSandboxes, log: ctx.log, template: 'base', instanceDirs: ['vms', 'snapshots', 'bare'] });
    return { tier, accel: found.accel };
  } catch (err) {
    ctx.log.step(`microvm tier skipped: ${(err as Error).message}`);
    ctx.results.skip(SCENARIO_MICROVM, microvmLabel(found.accel), `could not open: ${(err as Error).message}`);
    return undefined;
  }
}

async function runMicrovmStep(ctx: BenchContext, tier: Tier, accel: string): Promise<void> {
  try {
    ctx.results.report.details[`microvm.${accel}`] = await runMicrovm(ctx, tier, accel);
  } catch (err) {
    const message = `${SCENARIO_MICROVM} on ${microvmLabel(accel)} failed: ${(err as Error).stack ?? String(err)}`;
    ctx.log.step(message);
    ctx.results.report.errors.push(message);
  }
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`bench: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLog(options.verbose);
  const started = nowMs();
  const machine = await machineInfo();
  const results = new Results(options.quick ? 'quick' : 'full', { ...options, only: [...options.only] }, machine);
  const root = await mkdtemp('/var/tmp/hutch-bench-');
  await chmod(root, 0o711);
  log.step(`scratch root ${root}; ${machine.cores} cores, ${machine.memoryGiB} GiB, load ${machine.loadAverage1m.toFixed(2)}`);
  const tiers: Tier[] = [];
  const interrupted = { value: false };
  const onSignal = () => {
    if (interrupted.value) process.exit(130);
    interrupted.value = true;
    log.step('interrupted: cleaning up (again to force exit)');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    // The process/container scenarios and their baselines only when one of them is selected.
    const classic = [...options.only].some((s) => s !== 'microvm');
    const baselines = classic ? await measureBaselines(options, root, log) : { spawnTrue: [], spawn1Mb: [], bwrap: [], crun: { skip: 'not selected (--only)' } };
    const ctx: BenchContext = { options, log, results, root, baselines, interrupted };
    if (classic) {
      addCreateBaselineRows(ctx);
      addExecBaselineRows(ctx);
    }
    const maxSandboxes = Math.max(500, options.n + 100, options.clients * 2);
    // The process tier runs on the host's system dirs by default; the container tier needs a root
    // filesystem, so every create there names the `base` template.
    for (const [name, probe, template] of classic ? ([['process', processBackend, undefined], ['container', containerBackend, 'base']] as const) : []) {
      if (!options.tiers.has(name)) continue;
      const found = await probe(root);
      if ('skip' in found) {
        log.step(`${name} tier skipped: ${found.skip}`);
        results.skip('all', name, found.skip);
        continue;
      }
      try {
        tiers.push(await openTier(name, found.backend, found.dir, { root, maxSandboxes, log, ...(template ? { template } : {}) }));
      } catch (err) {
        log.step(`${name} tier skipped: ${(err as Error).message}`);
        results.skip('all', name, `could not open: ${(err as Error).message}`);
      }
    }
    await runScenarios(ctx, tiers);
    if (options.only.has('microvm') && !interrupted.value) {
      const opened = await openMicrovm(ctx, maxSandboxes);
      if (opened) {
        // Pushed before running, so the final cleanup and leak check cover it whatever happens.
        tiers.push(opened.tier);
        await runMicrovmStep(ctx, opened.tier, opened.accel);
      }
    }
    if (interrupted.value) results.report.errors.push('interrupted');
  } catch (err) {
    results.report.errors.push(`run failed: ${(err as Error).stack ?? String(err)}`);
    log.step(`run failed: ${(err as Error).message}`);
  } finally {
    log.step('cleanup: destroying sandboxes, closing engines, checking leaks');
    const leaks = await closeTiers(tiers, log).catch((err: Error) => {
      results.report.errors.push(`cleanup failed: ${err.message}`);
      return {};
    });
    results.report.details.leaksAtEnd = leaks;
    for (const [tier, l] of Object.entries(leaks)) if (leakCount(l) > 0) results.report.errors.push(`${tier}: ${leakCount(l)} leftover(s) after cleanup: ${JSON.stringify(l).slice(0, 500)}`);
    await removeRoot(root, log).catch((err: Error) => results.report.errors.push(`removing ${root}: ${err.message}`));
  }
  results.report.verdicts = computeVerdicts(results, options.n);
  results.report.finishedAt = new Date().toISOString();
  results.report.machine.loadAverageAtEnd1m = loadavg()[0]!;
  results.report.details.durationS = (nowMs() - started) / 1000;
  await mkdir(dirname(options.out), { recursive: true });
  await writeFile(options.out, `${JSON.stringify(results.report, null, 2)}\n`);
  const m = results.report.machine;
  process.stdout.write(
    [
      `Hutch benchmark (${results.report.mode}) — ${m.cores} cores, ${m.memoryGiB} GiB, kernel ${m.kernel}, ${m.bwrap ?? 'no bwrap'}, ${m.crun ?? 'no crun'}, node ${m.node}; load ${m.loadAverage1m.toFixed(2)} → ${(m.loadAverageAtEnd1m ?? NaN).toFixed(2)}`,
      '',
      renderTable(results.report),
      '',
      renderSkips(results.report),
      '',
      renderVerdicts(results.report),
      '',
      ...results.report.errors.map((e) => `ERROR: ${e.split('\n')[0]}`),
      `${(results.report.details.durationS as number).toFixed(0)} s; JSON: ${options.out}`,
      '',
    ].join('\n'),
  );
  return results.report.errors.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
