/**
 * Parsers of command-line values: `K=V` pairs, durations (`30s`, `5m`, `1h`, `250ms`; a bare number
 * is seconds), memory sizes (`512`, `512m`, `2g`; a bare number is MiB), integers, and `cp`
 * operands (`<sandbox-id>:/path` or a host path). They throw `UsageError`.
 */
import { UsageError } from './errors.js';

/** Collects repeatable `--env K=V` values into a record. */
export function collectKeyValue(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new UsageError(`expected KEY=VALUE, got "${value}"`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** Parses a duration into milliseconds. */
export function parseDurationMs(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new UsageError(`invalid duration "${text}" (use e.g. 30s, 5m, 1h, 250ms)`);
  const value = Number(match[1]);
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(value * factor);
}

/** Parses a memory size into MiB. */
export function parseMemoryMib(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(k|kb|kib|m|mb|mib|g|gb|gib)?$/i.exec(text.trim());
  if (!match) throw new UsageError(`invalid memory size "${text}" (use e.g. 512, 512m, 2g)`);
  const unit = (match[2] ?? 'm').toLowerCase()[0]!;
  const mib = Number(match[1]) * (unit === 'g' ? 1024 : unit === 'k' ? 1 / 1024 : 1);
  if (mib < 1) throw new UsageError(`memory size "${text}" is below 1 MiB`);
  return Math.round(mib);
}

/** Parses a positive integer (cpus, pids, counts). */
export function parsePositiveInt(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`expected a positive integer, got "${text}"`);
  return value;
}

/** Parses a positive number (fractional vcpus allowed). */
export function parsePositiveNumber(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`expected a positive number, got "${text}"`);
  return value;
}

/** A `cp` operand: a path inside a sandbox, or on the host (`-` is stdin/stdout). */
export type CopyOperand = { kind: 'sandbox'; sandboxId: string; path: string } | { kind: 'host'; path: string };

/** Splits `<sandbox-id>:<path>`; anything else (including `./a:b`) is a host path. */
export function parseCopyOperand(text: string): CopyOperand {
  const match = /^([A-Za-z0-9][A-Za-z0-9_-]*):(.*)$/.exec(text);
  if (!match) return { kind: 'host', path: text };
  const path = match[2]!;
  if (path === '') throw new UsageError(`missing the path after "${match[1]}:" (use ${match[1]}:/path/in/sandbox)`);
  return { kind: 'sandbox', sandboxId: match[1]!, path };
}
