/**
 * Timing and summary statistics for the benchmark: a monotonic clock, percentiles by the
 * nearest-rank method, and the summary every scenario reports (n, median, p90, p99, min, max, mean).
 */

/** Milliseconds from a monotonic clock (fractional). */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Runs `fn` and returns its result and wall time in milliseconds. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = nowMs();
  const value = await fn();
  return { value, ms: nowMs() - t0 };
}

export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending array (q in 0..1). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

export function summarize(samplesMs: readonly number[]): Summary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const mean = sorted.reduce((s, x) => s + x, 0) / (sorted.length || 1);
  return {
    n: sorted.length,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    mean,
  };
}

/** Collects named series of samples (one per measured step). */
export class Samples {
  private readonly series = new Map<string, number[]>();

  add(name: string, ms: number): void {
    let list = this.series.get(name);
    if (!list) this.series.set(name, (list = []));
    list.push(ms);
  }

  clear(): void {
    this.series.clear();
  }

  get(name: string): number[] {
    return this.series.get(name) ?? [];
  }

  summary(name: string): Summary {
    return summarize(this.get(name));
  }
}

/** Runs `count` iterations of `fn` with `concurrency` workers; returns when all are done. */
export async function pool(count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
