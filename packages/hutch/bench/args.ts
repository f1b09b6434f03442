/**
 * Command-line options of `npm run bench -- [options]`.
 *
 *   --quick            small sample sizes (finishes in under 2 minutes on 2 cores)
 *   --n <count>        density: idle sandboxes to start (default 200; quick 50)
 *   --clients <count>  concurrency: parallel clients (default 50)
 *   --iterations <k>   create→exec→destroy and warm-pool iterations (default 100; quick 15)
 *   --exec <k>         exec round-trip iterations (default 200; quick 30)
 *   --only <list>      comma-separated scenarios: 1,2,3,4,5,6,profile,microvm (default all)
 *   --no-template      skip the `base` template variant of scenario 1
 *   --tiers <list>     comma-separated tiers to run: process,container (default both)
 *   --out <file>       JSON output (default bench/results/latest.json under the repo root)
 *   --verbose          show template build output
 *
 * The `microvm` scenario runs only when HUTCH_MICROVM_ACCEL is set (`tcg` is the explicit opt-in
 * to emulation) or the host has usable KVM; its sample sizes are fixed by mode (quick: 3 cold
 * boots, 3 restores, 4 idle VMs; full: 5, 5, 8) because one TCG boot takes seconds.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchOptions } from './context.js';

const ALL = ['1', '2', '3', '4', '5', '6', 'profile', 'microvm'];

/** The repository root (this file runs from packages/hutch/dist/bench/). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../../../../', import.meta.url)));

export class UsageError extends Error {}

function positiveInt(flag: string, text: string | undefined): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} needs a positive integer, not ${JSON.stringify(text)}`);
  return n;
}

export function parseArgs(argv: readonly string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const options: BenchOptions = {
    quick,
    n: quick ? 50 : 200,
    clients: 50,
    iterations: quick ? 15 : 100,
    execIterations: quick ? 30 : 200,
    densityConcurrency: 4,
    snapshotRounds: quick ? 1 : 5,
    microvm: quick ? { coldBoots: 3, restores: 3, idleVms: 4 } : { coldBoots: 5, restores: 5, idleVms: 8 },
    only: new Set(ALL),
    template: true,
    tiers: new Set(['process', 'container']),
    verbose: false,
    out: join(REPO_ROOT, 'bench', 'results', 'latest.json'),
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => argv[++i];
    switch (arg) {
      case '--quick':
        break;
      case '--n':
        options.n = positiveInt(arg, value());
        break;
      case '--clients':
        options.clients = positiveInt(arg, value());
        break;
      case '--iterations':
        options.iterations = positiveInt(arg, value());
        break;
      case '--exec':
        options.execIterations = positiveInt(arg, value());
        break;
      case '--only': {
        const list = (value() ?? '').split(',').map((s) => s.trim()).filter(Boolean);
        for (const s of list) if (!ALL.includes(s)) throw new UsageError(`--only: unknown scenario "${s}" (known: ${ALL.join(', ')})`);
        options.only = new Set(list);
        break;
      }
      case '--tiers':
        options.tiers = new Set((value() ?? '').split(',').map((t) => t.trim()).filter(Boolean));
        break;
      case '--no-template':
        options.template = false;
        break;
      case '--out':
        options.out = resolve(value() ?? '');
        break;
      case '--verbose':
        options.verbose = true;
        break;
      default:
        throw new UsageError(`unknown option ${arg}`);
    }
  }
  return options;
}
