/**
 * Prometheus metrics in the text exposition format (written by hand: three metric families do not
 * need a client library):
 * - `hutch_sandboxes{state}` gauge, read from the engine at scrape time;
 * - `hutch_process_starts_total` counter, counted from the engine's `process.started` events (so
 *   processes started by any route, sessions included, are counted);
 * - `hutch_http_request_duration_seconds{route,method,status}` histogram;
 * - `hutch_sandbox_network_egress_bytes{sandbox}` gauge: bytes each running sandbox sent through
 *   its egress proxy (read from the backends' stats at scrape time).
 */
import type { Engine } from '../engine/engine.js';

/** Histogram bucket upper bounds, in seconds. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

interface Series {
  labels: string;
  counts: number[];
  sum: number;
  count: number;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(pairs: Record<string, string>): string {
  return Object.entries(pairs)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(',');
}

export class Metrics {
  private processStarts = 0;
  private readonly durations = new Map<string, Series>();

  constructor(private readonly engine: Engine) {}

  /** Counts `process.started` events emitted from now on, until `signal` aborts. */
  async followProcessStarts(signal: AbortSignal): Promise<void> {
    const since = new Date().toISOString();
    for await (const event of this.engine.followEvents({}, signal)) {
      if (event.type === 'process.started' && event.at >= since) this.processStarts++;
    }
  }

  observeRequest(route: string, method: string, status: number, seconds: number): void {
    const key = labels({ route, method, status: String(status) });
    let series = this.durations.get(key);
    if (!series) this.durations.set(key, (series = { labels: key, counts: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 }));
    DURATION_BUCKETS.forEach((bound, i) => {
      if (seconds <= bound) series.counts[i]!++;
    });
    series.sum += seconds;
    series.count++;
  }

  /** Egress byte counters of running and paused sandboxes (sandboxes whose stats fail are skipped). */
  async egressLines(): Promise<string[]> {
    const lines = ['# HELP hutch_sandbox_network_egress_bytes Bytes a sandbox sent through its egress proxy.', '# TYPE hutch_sandbox_network_egress_bytes gauge'];
    for (const info of this.engine.list({ state: ['running', 'paused'], limit: 1000 }).items) {
      const stats = await this.engine.stats(info.id).catch(() => undefined);
      if (stats) lines.push(`hutch_sandbox_network_egress_bytes{${labels({ sandbox: info.id })}} ${stats.networkEgressBytes}`);
    }
    return lines;
  }

  /** The exposition text (`text/plain; version=0.0.4`), `extra` lines appended. */
  render(extra: string[] = []): string {
    const lines: string[] = [];
    lines.push('# HELP hutch_sandboxes Sandboxes known to the engine, by state.', '# TYPE hutch_sandboxes gauge');
    for (const [state, n] of Object.entries(this.engine.countByState())) lines.push(`hutch_sandboxes{${labels({ state })}} ${n}`);
    lines.push('# HELP hutch_process_starts_total Processes started in sandboxes since the server started.', '# TYPE hutch_process_starts_total counter');
    lines.push(`hutch_process_starts_total ${this.processStarts}`);
    lines.push('# HELP hutch_http_request_duration_seconds HTTP request duration, by route, method and status.', '# TYPE hutch_http_request_duration_seconds histogram');
    for (const series of this.durations.values()) {
      DURATION_BUCKETS.forEach((bound, i) => lines.push(`hutch_http_request_duration_seconds_bucket{${series.labels},le="${bound}"} ${series.counts[i]}`));
      lines.push(`hutch_http_request_duration_seconds_bucket{${series.labels},le="+Inf"} ${series.count}`);
      lines.push(`hutch_http_request_duration_seconds_sum{${series.labels}} ${series.sum}`);
      lines.push(`hutch_http_request_duration_seconds_count{${series.labels}} ${series.count}`);
    }
    lines.push(...extra);
    return `${lines.join('\n')}\n`;
  }
}
