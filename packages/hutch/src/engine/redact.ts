/**
 * Redaction for everything that leaves the engine's private state: journal summaries, events and
 * logs. Env values and command text may hold secrets, and runtime records hold host paths, so
 * summaries keep names, counts and hashes only.
 */
import { createHash } from 'node:crypto';
import type { ExecSpec } from '../domain/process.js';

/** A short, stable fingerprint of a value that must not be shown (e.g. a command line). */
export function fingerprint(value: string): string {
  return `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 16)}`;
}

/** Env as sorted key names only. */
export function envKeys(env: Record<string, string> | undefined): string[] {
  return Object.keys(env ?? {}).sort();
}

/** What the journal and events may say about an exec: program name, arg count, hashes, flags. */
export function summarizeExec(spec: ExecSpec): Record<string, unknown> {
  const program = spec.shell !== undefined ? 'shell' : basename(spec.cmd ?? '');
  const text = spec.shell ?? [spec.cmd, ...(spec.args ?? [])].join('\u0000');
  return {
    program,
    argCount: spec.args?.length ?? 0,
    command: fingerprint(text),
    envKeys: envKeys(spec.env),
    pty: spec.pty !== undefined,
    ...(spec.tag ? { tag: spec.tag } : {}),
    ...(spec.timeoutMs ? { timeoutMs: spec.timeoutMs } : {}),
  };
}

function basename(path: string): string {
  const i = path.lastIndexOf('/');
  return i >= 0 ? path.slice(i + 1) : path;
}

/** Removes any occurrence of `secrets` from a message (for backend error text that echoes input). */
export function scrub(message: string, secrets: Iterable<string>): string {
  let out = message;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  return out;
}
