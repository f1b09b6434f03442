/**
 * Options of `Sandbox.create` (and restore/fork), and their translation to the wire body.
 */
import type { CreateSandboxBody, NetworkPolicy, Resources, SandboxSecret, WorkspaceRequest } from '@hutch/protocol';
import type { CallOptions, ConnectionOptions } from './connection-config.js';

/** What a new sandbox looks like, plus how to reach the server. */
export interface SandboxCreateOptions extends ConnectionOptions, CallOptions {
  /** Template name or id (default: the server's base template). */
  template?: string;
  /** Limits: `vcpus`, `memoryMib`, `pids`, `diskMib`. */
  resources?: Resources;
  /** Environment variables of every process in the sandbox. */
  env?: Record<string, string>;
  /** Labels to find the sandbox by (`Sandbox.list({metadata})`). */
  metadata?: Record<string, string>;
  /**
   * Lifetime in milliseconds; the sandbox is destroyed (or paused, see `onTimeout`) when it runs
   * out. Extend with `sandbox.setTimeout`. @default the server's (300000)
   */
  timeoutMs?: number;
  /** What the deadline does. @default 'destroy' */
  onTimeout?: 'destroy' | 'pause';
  /** Network policy (rules, audit, secret injection: see docs/network.md). @default {mode: 'none'} */
  network?: NetworkPolicy;
  /** Secrets `network.inject` can add to requests at the egress proxy; they never enter the sandbox. */
  secrets?: SandboxSecret[];
  /** Backend (isolation tier) by name, e.g. `process`. @default the server's default */
  backend?: string;
  /** Default working directory of processes. */
  workdir?: string;
  /**
   * A codebase mounted copy-on-write under path rules (`Codebases.upload` first; capability
   * `workspaces`). Unknown codebases fail with `codebase_not_found`. See docs/workspaces.md.
   */
  workspace?: WorkspaceRequest;
  /** Makes retries safe: a second create with the same key returns the same sandbox. */
  idempotencyKey?: string;
}

/** The wire body for create options (connection settings left out). */
export function createBody(options: SandboxCreateOptions): CreateSandboxBody {
  const body: CreateSandboxBody = {};
  if (options.backend !== undefined) body.backend = options.backend;
  if (options.template !== undefined) body.template = options.template;
  if (options.resources !== undefined) body.resources = options.resources;
  if (options.env !== undefined) body.env = options.env;
  if (options.metadata !== undefined) body.metadata = options.metadata;
  if (options.timeoutMs !== undefined) body.timeoutMs = options.timeoutMs;
  if (options.onTimeout !== undefined) body.onTimeout = options.onTimeout;
  if (options.network !== undefined) body.network = options.network;
  if (options.secrets !== undefined) body.secrets = options.secrets;
  if (options.workdir !== undefined) body.workdir = options.workdir;
  if (options.workspace !== undefined) body.workspace = options.workspace;
  return body;
}

/** The request headers for create options. */
export function createHeaders(options: SandboxCreateOptions): Record<string, string> {
  return options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {};
}
