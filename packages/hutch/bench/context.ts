/**
 * What every scenario gets: the options, the log, the results, the scratch root and the raw
 * baselines (measured once per run, early, so they share the run's conditions).
 */
import type { CrunSamples } from './crun-worker.js';
import type { BenchLog } from './log.js';
import type { Results } from './report.js';
import type { Tier } from './tiers.js';

export interface BenchOptions {
  quick: boolean;
  /** Density: idle sandboxes to start (default 200). */
  n: number;
  /** Concurrency scenario: parallel clients (default 50). */
  clients: number;
  /** Iterations of the create→exec→destroy and warm-pool loops. */
  iterations: number;
  /** Iterations of the exec round-trip loops. */
  execIterations: number;
  /** Create/destroy concurrency of the density scenario. */
  densityConcurrency: number;
  /** Snapshot/restore rounds. */
  snapshotRounds: number;
  /** microVM scenario sizes: cold boots, restores from one memory snapshot, idle VMs for density. */
  microvm: { coldBoots: number; restores: number; idleVms: number };
  /** Scenarios to run (1..6, `profile` and `microvm`). */
  only: Set<string>;
  /** Also measure sandboxes from the `base` template. */
  template: boolean;
  /** Tiers to run (`process`, `container`). */
  tiers: Set<string>;
  verbose: boolean;
  out: string;
}

export interface Baselines {
  spawnTrue: number[];
  spawn1Mb: number[];
  bwrap: number[];
  crun: CrunSamples | { skip: string };
}

export interface BenchContext {
  options: BenchOptions;
  log: BenchLog;
  results: Results;
  root: string;
  baselines: Baselines;
  /** Set on SIGINT/SIGTERM: no new scenario starts; cleanup runs. */
  interrupted: { value: boolean };
}

/** Runs `fn` with the tier's backend call timings recorded into `tier.timed.samples` (cleared first). */
export async function recordingBackend<T>(tier: Tier, fn: () => Promise<T>): Promise<T> {
  tier.timed.samples.clear();
  tier.timed.recording.on = true;
  try {
    return await fn();
  } finally {
    tier.timed.recording.on = false;
  }
}

/** The median of a sample list (NaN if empty). */
export function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.ceil(sorted.length / 2) - 1]! : Number.NaN;
}
