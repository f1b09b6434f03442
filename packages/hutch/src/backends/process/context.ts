/**
 * The process backend's per-instance state: options resolved once, the host's cgroup layout, and
 * the table of sandboxes this instance knows (created here or adopted). Nothing is module-level:
 * two backend instances on one data dir (a "restarted server" in tests) share only the host.
 */
import { SandboxNotFoundError } from '../../domain/errors.js';
import { withKeyLock } from '../../host/locks.js';
import type { SandboxSpec } from '../../domain/sandbox.js';
import type { HostTools } from './capabilities.js';
import type { CgroupLayout, MountEntry, SandboxPaths } from './plan.js';
import type { SeccompArch } from './seccomp.js';
import type { ExecProcess } from './exec.js';
import type { SandboxEgress } from '../../host/egress/sandbox-egress.js';

export type ProcessSandboxState = 'created' | 'running' | 'paused' | 'stopped';

export interface ProcessSandbox {
  id: string;
  spec: SandboxSpec;
  paths: SandboxPaths;
  mounts: MountEntry[];
  state: ProcessSandboxState;
  /** Host pid of the sandbox's pid 1 (bwrap's reaper) and its start time (guards pid reuse). */
  initPid?: number;
  initStartTime?: string;
  /** Processes started through exec, by in-sandbox pid. */
  processes: Map<number, ExecProcess>;
}

export interface BackendContext {
  dataDir: string;
  tools: HostTools;
  /** The native launcher for exec and init (host/launcher.ts); undefined: Perl prelude + nsenter. */
  launcher?: string;
  /** The in-sandbox exec agent (host/agent-exec.ts), started with the init; undefined: exec goes through the launcher. */
  agent?: string;
  layout: CgroupLayout;
  arch: SeccompArch;
  sandboxes: Map<string, ProcessSandbox>;
  /** Egress proxies of the sandboxes with network. */
  egress: SandboxEgress;
  /** Serialises lifecycle operations per sandbox. */
  locks: Map<string, Promise<unknown>>;
}

/** The sandbox `id`, or `SandboxNotFoundError`. */
export function getSandbox(ctx: BackendContext, id: string): ProcessSandbox {
  const sandbox = ctx.sandboxes.get(id);
  if (!sandbox) throw new SandboxNotFoundError(id);
  return sandbox;
}

/** Runs `fn` after every earlier locked operation on `id` has settled (see host/locks.ts). */
export function withLock<T>(ctx: BackendContext, id: string, fn: () => Promise<T>): Promise<T> {
  return withKeyLock(ctx.locks, id, fn);
}

/** The runtime record persisted by the engine (host paths stay backend-private). */
export function runtimeRecord(ctx: BackendContext, sandbox: ProcessSandbox): Record<string, unknown> {
  return {
    backend: 'process',
    version: 1,
    dataDir: ctx.dataDir,
    cgroups: ctx.layout.mode,
    state: sandbox.state,
    ...(sandbox.initPid !== undefined ? { initPid: sandbox.initPid, initStartTime: sandbox.initStartTime } : {}),
  };
}
