/**
 * The container backend's per-instance state: options resolved once, the runtime invocation, the
 * host's cgroup layout, and the table of sandboxes this instance knows (created here or adopted).
 * Nothing is module-level: two instances on one data dir share only the host.
 */
import type { SandboxEgress } from '../../host/egress/sandbox-egress.js';
import { SandboxNotFoundError } from '../../domain/errors.js';
import type { SandboxSpec } from '../../domain/sandbox.js';
import type { CgroupLayout } from '../../host/cgroup-plan.js';
import type { ExecProcess } from '../../host/exec-process.js';
import { withKeyLock } from '../../host/locks.js';
import type { MountEntry } from '../../host/mount-table.js';
import type { ContainerTools } from './capabilities.js';
import type { ContainerPaths, RuntimeInvocation } from './plan.js';
import type { RuntimeNamespace } from './runtime-ns.js';

export type ContainerState = 'created' | 'running' | 'paused' | 'stopped';

export interface ContainerSandbox {
  id: string;
  spec: SandboxSpec;
  paths: ContainerPaths;
  mounts: MountEntry[];
  state: ContainerState;
  /** Host pid of the container's pid 1 and its start time (guards pid reuse). */
  initPid?: number;
  initStartTime?: string;
  /** Processes started through exec, by in-sandbox pid. */
  processes: Map<number, ExecProcess>;
}

export interface ContainerContext {
  dataDir: string;
  tools: ContainerTools;
  runtime: RuntimeInvocation;
  /** The long-lived namespace crun calls join (crun on a hybrid host, helper built); else per-call wrapper. */
  runtimeNs?: RuntimeNamespace;
  layout: CgroupLayout;
  /** hutch-launch and the exec agent (agent.ts); both or neither. Undefined: every exec is a `crun exec`. */
  agent?: { launcher: string; binary: string };
  noNewPrivileges: boolean;
  defaultRootfsPath?: () => Promise<string>;
  sandboxes: Map<string, ContainerSandbox>;
  locks: Map<string, Promise<unknown>>;
  /** Egress proxies of the sandboxes with network. */
  egress: SandboxEgress;
}

/** The sandbox `id`, or `SandboxNotFoundError`. */
export function getSandbox(ctx: ContainerContext, id: string): ContainerSandbox {
  const sandbox = ctx.sandboxes.get(id);
  if (!sandbox) throw new SandboxNotFoundError(id);
  return sandbox;
}

export function withLock<T>(ctx: ContainerContext, id: string, fn: () => Promise<T>): Promise<T> {
  return withKeyLock(ctx.locks, id, fn);
}

/** The state name the port uses (`created` is the engine's `creating`). */
export function portState(sandbox: ContainerSandbox): string {
  return sandbox.state === 'created' ? 'creating' : sandbox.state;
}

/** The runtime record persisted by the engine. */
export function runtimeRecord(ctx: ContainerContext, sandbox: ContainerSandbox): Record<string, unknown> {
  return {
    backend: 'container',
    version: 1,
    runtime: ctx.runtime.kind,
    dataDir: ctx.dataDir,
    state: sandbox.state,
    ...(sandbox.initPid !== undefined ? { initPid: sandbox.initPid, initStartTime: sandbox.initStartTime } : {}),
  };
}
