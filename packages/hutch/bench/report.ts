/**
 * The benchmark's results: rows (a latency series with its percentiles, or a single figure),
 * skips with their reason, target verdicts, the text table printed on stdout and the JSON written
 * to bench/results/latest.json.
 */
import type { MachineInfo } from './host.js';
import { summarize, type Summary } from './stats.js';

export type Unit = 'ms' | 'MB' | 'MiB' | '%' | 'ops/s' | 'count' | 's' | 'x';

export interface Row {
  /** Scenario number and name, e.g. `1 create→exec→destroy`. */
  scenario: string;
  tier: string;
  /** How it was driven: `engine`, `http+sdk`, or the baseline's name. */
  via: string;
  metric: string;
  unit: Unit;
  stats?: Summary;
  value?: number;
  /** The raw baseline this row is compared with (ratio = p50 / baseline p50). */
  baseline?: { name: string; p50: number };
  note?: string;
}

export interface Skip {
  scenario: string;
  tier: string;
  reason: string;
}

export interface Verdict {
  target: string;
  measured: string;
  status: 'MET' | 'MISSED' | 'NOT MEASURED';
}

export interface BenchReport {
  startedAt: string;
  finishedAt?: string;
  mode: 'quick' | 'full';
  options: Record<string, unknown>;
  machine: MachineInfo;
  rows: Row[];
  skips: Skip[];
  verdicts: Verdict[];
  /** Extra structured data (profiles, leak lists, density details). */
  details: Record<string, unknown>;
  errors: string[];
}

export class Results {
  readonly report: BenchReport;

  constructor(mode: 'quick' | 'full', options: Record<string, unknown>, machine: MachineInfo) {
    this.report = { startedAt: new Date().toISOString(), mode, options, machine, rows: [], skips: [], verdicts: [], details: {}, errors: [] };
  }

  /** Adds a latency row from raw samples (ms). */
  latency(row: Omit<Row, 'stats' | 'unit'> & { unit?: Unit }, samplesMs: readonly number[]): Row {
    const full: Row = { unit: 'ms', ...row, stats: summarize(samplesMs) };
    this.report.rows.push(full);
    return full;
  }

  value(row: Omit<Row, 'stats'> & { value: number }): Row {
    this.report.rows.push(row);
    return row;
  }

  skip(scenario: string, tier: string, reason: string): void {
    this.report.skips.push({ scenario, tier, reason });
  }

  find(scenario: string, tier: string, via: string, metric: string): Row | undefined {
    return this.report.rows.find((r) => r.scenario.startsWith(scenario) && r.tier === tier && r.via === via && r.metric === metric);
  }
}

function fmt(x: number | undefined, unit?: Unit): string {
  if (x === undefined || Number.isNaN(x)) return '–';
  if (unit === 'count') return String(Math.round(x));
  if (Math.abs(x) >= 1000) return x.toFixed(0);
  if (Math.abs(x) >= 100) return x.toFixed(1);
  return x.toFixed(2);
}

export function ratioOf(row: Row): number | undefined {
  const p50 = row.stats?.p50 ?? row.value;
  return row.baseline && p50 !== undefined && row.baseline.p50 > 0 ? p50 / row.baseline.p50 : undefined;
}

/** The results as a Markdown table (also readable as plain text). */
export function renderTable(report: BenchReport): string {
  const head = ['scenario', 'tier', 'via', 'metric', 'n', 'p50', 'p90', 'p99', 'unit', 'baseline p50', 'ratio'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of report.rows) {
    const s = r.stats;
    const cells = [
      r.scenario,
      r.tier,
      r.via,
      r.metric + (r.note ? ` (${r.note})` : ''),
      s ? String(s.n) : '',
      s ? fmt(s.p50) : fmt(r.value, r.unit),
      s ? fmt(s.p90) : '',
      s ? fmt(s.p99) : '',
      r.unit,
      r.baseline ? `${fmt(r.baseline.p50)} (${r.baseline.name})` : '',
      r.baseline ? `${fmt(ratioOf(r))}×` : '',
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

export function renderSkips(report: BenchReport): string {
  return report.skips.map((s) => `- skipped: ${s.scenario} on ${s.tier}: ${s.reason}`).join('\n');
}

export function renderVerdicts(report: BenchReport): string {
  const lines = ['| target | measured | status |', '|---|---|---|'];
  for (const v of report.verdicts) lines.push(`| ${v.target} | ${v.measured} | ${v.status} |`);
  return lines.join('\n');
}
