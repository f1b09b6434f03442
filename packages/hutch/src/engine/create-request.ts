/**
 * The request to create a sandbox, its validation and its fingerprint for idempotency. Validation
 * here is semantic (names, ranges); the server's schemas check shapes first.
 */
import { createHash } from 'node:crypto';
import { BadRequestError } from '../domain/errors.js';
import type { WorkspaceRequest } from '../domain/workspace.js';
import { validateNetworkPolicy } from '../domain/network-rules.js';
import type { NetworkPolicy, OnTimeout, Resources, SandboxSecret } from '../domain/sandbox.js';

export interface CreateSandboxRequest {
  /** Backend name; default: the registry's default. */
  backend?: string;
  template?: string;
  resources?: Resources;
  /** Env for every process. Values may be secrets: they are never logged, journaled or returned. */
  env?: Record<string, string>;
  metadata?: Record<string, string>;
  /** Deadline from now; default 300 000 ms; 0 = no deadline. */
  timeoutMs?: number;
  /** What happens at the deadline (default `destroy`). */
  onTimeout?: OnTimeout;
  network?: NetworkPolicy;
  /** Default cwd of commands (default `/workspace`). */
  workdir?: string;
  /** A retried create with the same key returns the same sandbox. */
  idempotencyKey?: string;
  /** A codebase mounted under path rules, copy-on-write (capability `workspaces`; docs/workspaces.md). */
  workspace?: WorkspaceRequest;
  /**
   * Secrets for edge injection (`network.inject` names them as `{{secret:NAME}}`). Values never
   * enter the sandbox, the store, the journal, events, logs or errors (docs/network.md).
   */
  secrets?: SandboxSecret[];
}

export const MAX_TIMEOUT_MS = 7 * 24 * 3600 * 1000;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function validateCreateRequest(request: CreateSandboxRequest): void {
  for (const name of Object.keys(request.env ?? {})) {
    if (!ENV_NAME.test(name)) throw new BadRequestError(`Env var name "${name}" is invalid: use letters, digits and _, not starting with a digit.`, { field: 'env' });
  }
  const metadata = Object.entries(request.metadata ?? {});
  if (metadata.length > 64) throw new BadRequestError('At most 64 metadata entries are allowed.', { field: 'metadata' });
  for (const [key, value] of metadata) {
    if (typeof value !== 'string' || key.length > 128 || value.length > 1024) throw new BadRequestError(`Metadata "${key.slice(0, 40)}" must be a string of at most 1024 characters with a key of at most 128.`, { field: 'metadata' });
  }
  const timeout = request.timeoutMs;
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < 0 || timeout > MAX_TIMEOUT_MS)) {
    throw new BadRequestError(`timeoutMs must be an integer between 0 and ${MAX_TIMEOUT_MS}.`, { field: 'timeoutMs' });
  }
  const r = request.resources ?? {};
  for (const [key, value] of Object.entries(r)) {
    if (value !== undefined && (typeof value !== 'number' || !(value > 0))) throw new BadRequestError(`resources.${key} must be a positive number.`, { field: `resources.${key}` });
  }
  if (r.memoryMib !== undefined && r.memoryMib < 16) throw new BadRequestError('resources.memoryMib must be at least 16.', { field: 'resources.memoryMib' });
  if (r.pids !== undefined && r.pids < 8) throw new BadRequestError('resources.pids must be at least 8.', { field: 'resources.pids' });
  const secrets = request.secrets ?? [];
  const names = new Set<string>();
  for (const s of secrets) {
    if (!ENV_NAME.test(s.name) || s.name.length > 128) throw new BadRequestError(`Secret name "${String(s.name).slice(0, 40)}" is invalid: use letters, digits and _.`, { field: 'secrets' });
    if (names.has(s.name)) throw new BadRequestError(`Secret "${s.name}" is given twice.`, { field: 'secrets' });
    if (typeof s.value !== 'string' || s.value.length === 0 || s.value.length > 8192 || /[\r\n]/.test(s.value)) throw new BadRequestError(`Secret "${s.name}" must be one line of 1 to 8192 characters.`, { field: 'secrets' });
    names.add(s.name);
  }
  if (secrets.length > 64) throw new BadRequestError('At most 64 secrets are allowed.', { field: 'secrets' });
  if (request.network) validateNetworkPolicy(request.network, names);
  if (request.workdir !== undefined && !request.workdir.startsWith('/')) throw new BadRequestError('workdir must be an absolute path inside the sandbox.', { field: 'workdir' });
}

/** A hash of everything but the idempotency key, to detect a key reused for another request. */
export function requestHash(request: CreateSandboxRequest): string {
  const { idempotencyKey: _ignored, secrets, ...rest } = request;
  // Secret values never reach the store, not even hashed: only their names count.
  return createHash('sha256').update(canonicalJson({ ...rest, ...(secrets ? { secretNames: secrets.map((s) => s.name) } : {}) })).digest('hex');
}

/** JSON with object keys sorted at every level, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
