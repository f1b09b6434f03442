/**
 * Wire types of the native REST API (`/v1`), shared by the server and the SDK. JSON bodies only:
 * bytes travel as base64 inside JSON frames, or raw in file bodies. See docs/api.md for the routes.
 */
import type { WorkspaceRequest } from './workspace.js';

export type SandboxState = 'creating' | 'running' | 'paused' | 'stopped' | 'failed' | 'destroyed';
export type TerminationReason = 'exited' | 'signaled' | 'timeout' | 'oom' | 'sandbox_destroyed' | 'lost';

export interface Resources {
  vcpus?: number;
  memoryMib?: number;
  pids?: number;
  diskMib?: number;
}

/** One egress rule: exactly one of `domain` (`a.com`, `*.a.com`, `*`) and `cidr` (IPv4). */
export interface NetworkRule {
  action: 'allow' | 'deny';
  domain?: string;
  cidr?: string;
  /** TCP ports; absent or empty: any. */
  ports?: number[];
}

/** A header the egress proxy adds to requests to `host`; `{{secret:NAME}}` in `value` is replaced there. */
export interface SecretInjection {
  host: string;
  header: string;
  value: string;
}

/** Network policy (docs/network.md): deny beats allow; the host is never reachable unless a /32 allow names it. */
export interface NetworkPolicy {
  mode: 'none' | 'internet' | 'rules';
  rules?: NetworkRule[];
  /** Log what would be blocked, block nothing. */
  audit?: boolean;
  inject?: SecretInjection[];
  exposedPorts?: number[];
}

/** A secret for `network.inject`, given at create; write-only. */
export interface SandboxSecret {
  name: string;
  value: string;
}

/** One egress decision (GET /v1/sandboxes/{id}/network/decisions). */
export interface NetworkDecision {
  seq: number;
  at: string;
  kind: 'dns' | 'connect';
  host: string | null;
  ip: string | null;
  port: number | null;
  verdict: 'allow' | 'deny' | 'audit';
  rule: string;
  injected?: string[];
}

/** POST /v1/sandboxes (the `Idempotency-Key` header makes retries safe). */
export interface CreateSandboxBody {
  backend?: string;
  template?: string;
  resources?: Resources;
  env?: Record<string, string>;
  metadata?: Record<string, string>;
  timeoutMs?: number;
  onTimeout?: 'destroy' | 'pause';
  network?: NetworkPolicy;
  /** Secrets for `network.inject`; values never enter the sandbox and are never returned. */
  secrets?: SandboxSecret[];
  workdir?: string;
  /** A codebase mounted copy-on-write under path rules (capability `workspaces`). */
  workspace?: WorkspaceRequest;
}

export interface SandboxInfo {
  id: string;
  backend: string;
  template: string | null;
  state: SandboxState;
  failureReason: string | null;
  resources: Resources;
  network: NetworkPolicy;
  metadata: Record<string, string>;
  envKeys: string[];
  createdAt: string;
  deadlineAt: string | null;
  onTimeout: 'destroy' | 'pause';
  destroyedAt: string | null;
}

/** The create response adds the per-sandbox access token (shown once). */
export interface CreatedSandbox extends SandboxInfo {
  accessToken: string;
}

export interface SandboxList {
  items: SandboxInfo[];
  nextCursor: string | null;
}

export interface SandboxStats {
  cpuUsageMs: number;
  memoryBytes: number;
  memoryLimitBytes: number | null;
  pids: number;
  diskBytes: number | null;
  /** Bytes the sandbox sent through its egress proxy. */
  networkEgressBytes: number;
  at: string;
}

/** POST /v1/sandboxes/{id}/processes and /exec. Exactly one of `cmd` or `shell`. */
export interface ExecBody {
  cmd?: string;
  args?: string[];
  shell?: string;
  cwd?: string;
  env?: Record<string, string>;
  user?: string;
  /** UTF-8 text written to stdin at start. */
  stdin?: string;
  keepStdinOpen?: boolean;
  pty?: { cols: number; rows: number };
  timeoutMs?: number;
  tag?: string;
}

export interface ProcessExit {
  exitCode: number | null;
  signal: string | null;
  reason: TerminationReason;
}

export interface ProcessInfo {
  pid: number;
  tag: string | null;
  cmd: string;
  args: string[];
  cwd: string | null;
  pty: boolean;
  startedAt: string;
  running: boolean;
  exit: ProcessExit | null;
}

export interface CommandResult {
  pid: number;
  exitCode: number;
  stdout: string;
  stderr: string;
  reason: TerminationReason;
  durationMs: number;
}

/**
 * Frames of a process stream (NDJSON: one JSON object per line; SSE: `event: <type>` + `data: <json>`).
 * `data` is base64. A stream ends after `exit` or `error`. `keepalive` frames may appear any time.
 */
export type ProcessFrame =
  | { type: 'start'; pid: number }
  | { type: 'output'; stream: 'stdout' | 'stderr' | 'pty'; seq: number; data: string }
  | ({ type: 'exit' } & ProcessExit)
  | { type: 'error'; code: string; message: string }
  | { type: 'keepalive' };

export interface SessionInfo {
  id: string;
  sandboxId: string;
  pid: number;
  createdAt: string;
  alive: boolean;
}

/** Frames of a session command stream (NDJSON/SSE), ending with `exit` or `error`. */
export type SessionFrame =
  | { type: 'output'; stream: 'stdout' | 'stderr'; data: string }
  | { type: 'exit'; exitCode: number }
  | { type: 'error'; code: string; message: string }
  | { type: 'keepalive' };

export interface FileEntry {
  name: string;
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  mode: number;
  modifiedAt: string;
  symlinkTarget?: string;
}

export interface FileEvent {
  type: 'create' | 'write' | 'remove' | 'rename' | 'chmod';
  path: string;
}

export interface SnapshotInfo {
  id: string;
  sandboxId: string;
  backend: string;
  kind: 'template' | 'continuation' | 'pause';
  template: string | null;
  sizeBytes: number;
  sha256: string;
  memory: boolean;
  createdAt: string;
}

export interface SandboxEvent {
  seq: number;
  sandboxId: string;
  type: string;
  data: Record<string, unknown>;
  at: string;
}
