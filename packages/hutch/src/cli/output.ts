/**
 * Terminal output of the CLI: JSON, aligned tables, ages and resource summaries, and writes that
 * respect backpressure (so `hutch exec … | head` and large downloads behave).
 */
import type { Resources } from '@hutch/sdk';

/** Prints a value as pretty JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints rows as a table with a header; cells are padded to the widest value of their column. */
export function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  process.stdout.write(`${[line(headers), ...rows.map(line)].join('\n')}\n`);
}

/** "3s", "5m", "2h", "4d": how long ago `iso` was, relative to `now`. */
export function formatAge(iso: string, now: Date = new Date()): string {
  const seconds = Math.max(0, Math.floor((now.getTime() - new Date(iso).getTime()) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** "2 vcpu, 512 MiB, 64 pids", or "-" when no limit is set. */
export function formatResources(resources: Resources): string {
  const parts: string[] = [];
  if (resources.vcpus !== undefined) parts.push(`${resources.vcpus} vcpu`);
  if (resources.memoryMib !== undefined) parts.push(`${resources.memoryMib} MiB`);
  if (resources.pids !== undefined) parts.push(`${resources.pids} pids`);
  if (resources.diskMib !== undefined) parts.push(`${resources.diskMib} MiB disk`);
  return parts.length > 0 ? parts.join(', ') : '-';
}

/** "1.5 MiB": a byte count for people. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** Writes a chunk and waits for the stream to drain when its buffer is full. */
export async function writeAll(stream: NodeJS.WritableStream, chunk: Uint8Array | string): Promise<void> {
  if (stream.write(chunk)) return;
  await new Promise<void>((resolve) => stream.once('drain', resolve));
}
