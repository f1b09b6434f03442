/** The sandbox: what a caller asks for (`SandboxSpec`) and what Hutch reports (`SandboxInfo`). */
import type { SandboxState } from './sandbox-state.js';

/** Resource limits. Enforced by the kernel where the backend reports the matching capability. */
export interface Resources {
  /** CPU quota in cores (0.5 = half a core). */
  vcpus?: number;
  memoryMib?: number;
  /** Maximum number of processes/threads alive at once. */
  pids?: number;
  /** Size limit of the writable layer. */
  diskMib?: number;
}

/**
 * Network policy. `none` (the default): own network namespace with loopback only.
 * `internet`: egress to the internet, never to the host's own services.
 */
export interface NetworkPolicy {
  mode: 'none' | 'internet';
  /** Host-reachable ports forwarded into the sandbox (sandbox-side port numbers). */
  exposedPorts?: number[];
}

/** What to do when a sandbox's deadline passes. */
export type OnTimeout = 'destroy' | 'pause';

/** Everything a backend needs to create a sandbox. Env values may be secrets: never log them. */
export interface SandboxSpec {
  id: string;
  /** Template name; `undefined` means the backend's default root (the host's system for the process tier). */
  template?: string;
  /** Absolute host path of the template root filesystem, resolved by the engine (never shown to callers). */
  rootfsPath?: string;
  resources: Resources;
  env: Record<string, string>;
  network: NetworkPolicy;
  /** Default working directory for commands. */
  workdir?: string;
}

/** Opaque, backend-owned data that lets a backend find a sandbox again after a server restart. */
export type RuntimeRecord = Record<string, unknown>;

/** Read model of a sandbox, as the engine reports it. */
export interface SandboxInfo {
  id: string;
  backend: string;
  template: string | null;
  state: SandboxState;
  /** Why the sandbox failed, when `state` is `failed`. */
  failureReason: string | null;
  resources: Resources;
  network: NetworkPolicy;
  metadata: Record<string, string>;
  /** Names of env vars set (values are never reported). */
  envKeys: string[];
  createdAt: string;
  /** When the deadline passes (ISO time), or null for none. */
  deadlineAt: string | null;
  onTimeout: OnTimeout;
  destroyedAt: string | null;
}

/** Point-in-time resource usage. */
export interface SandboxStats {
  cpuUsageMs: number;
  memoryBytes: number;
  memoryLimitBytes: number | null;
  pids: number;
  diskBytes: number | null;
  at: string;
}
