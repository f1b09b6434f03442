/** The sandbox: what a caller asks for (`SandboxSpec`) and what Hutch reports (`SandboxInfo`). */
import type { SandboxState } from './sandbox-state.js';
import type { WorkspaceMounts } from './workspace.js';

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
 * Network policy (docs/network.md). `none` (the default): own network namespace with loopback
 * only, nothing routable. `internet`: egress through Hutch's egress proxy to anything but the host
 * and other sandboxes, minus `deny` rules. `rules`: egress only where an `allow` rule matches and
 * no `deny` rule does. Changeable while the sandbox runs (`PUT /v1/sandboxes/{id}/network`).
 */
export interface NetworkPolicy {
  mode: 'none' | 'internet' | 'rules';
  /** Evaluated as documented in `domain/network-rules.ts`: deny beats allow. */
  rules?: NetworkRule[];
  /** Log what would be blocked, block nothing (except the host guard, which is never audited). */
  audit?: boolean;
  /** Headers the egress proxy adds to HTTP(S) requests to a host, with secret values. */
  inject?: SecretInjection[];
  /** Host-reachable ports forwarded into the sandbox (sandbox-side port numbers). */
  exposedPorts?: number[];
}

/** One egress rule: exactly one of `domain` and `cidr`; `ports` empty or absent means any port. */
export interface NetworkRule {
  action: 'allow' | 'deny';
  /** `example.com` (exact), `*.example.com` (any name below it, not itself) or `*` (any name). */
  domain?: string;
  /** `10.0.0.0/8` or a single address `1.2.3.4` (= /32). IPv4 only. */
  cidr?: string;
  ports?: number[];
}

/**
 * A header added by the egress proxy to every HTTP request to `host` (plain HTTP, or HTTPS
 * terminated with the sandbox's CA). `value` may contain `{{secret:NAME}}`, replaced by the value
 * of the sandbox secret NAME; the value never enters the sandbox.
 */
export interface SecretInjection {
  /** Exact host name (`api.example.com`). */
  host: string;
  header: string;
  value: string;
}

/** A secret given at create: only its name is ever reported. */
export interface SandboxSecret {
  name: string;
  value: string;
}

/** One egress decision of the egress proxy. */
export interface NetworkDecision {
  seq: number;
  at: string;
  /** `dns`: a name lookup; `connect`: a TCP connection. */
  kind: 'dns' | 'connect';
  /** The name attributed (SNI, Host or the sandbox's own DNS answers), or null. */
  host: string | null;
  ip: string | null;
  port: number | null;
  /** `audit`: would have been blocked, passed because the policy is in audit mode. */
  verdict: 'allow' | 'deny' | 'audit';
  /** Which rule decided: `rules[2]`, `mode:internet`, `default`, `host_guard`, `mode:none`. */
  rule: string;
  /** Secret names injected into this connection's requests (never values). */
  injected?: string[];
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
  /** Secrets for edge injection (`network.inject`); values never enter the sandbox. */
  secrets?: SandboxSecret[];
  /** A codebase's binds, prepared by the engine (capability `workspaces`); replaces the empty `/workspace`. */
  workspace?: WorkspaceMounts;
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
  /** Bytes sent by the sandbox through the egress proxy (0 without network). */
  networkEgressBytes: number;
  at: string;
}
