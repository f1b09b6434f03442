/**
 * The microVM backend's per-instance state: resolved options, the boot artifacts, and the VMs this
 * instance knows (created here or adopted). Nothing is module-level: two backend instances on one
 * data dir (a "restarted server" in tests) share only the host.
 */
import { writeFile } from 'node:fs/promises';
import { SandboxNotFoundError } from '../../domain/errors.js';
import type { SandboxSpec } from '../../domain/sandbox.js';
import type { SandboxEgress } from '../../host/egress/sandbox-egress.js';
import type { AgentChannel } from './agent-channel.js';
import type { BootArtifacts } from './artifacts.js';
import type { MicrovmProcess } from './exec.js';
import type { Accel, VmPaths, VmShape } from './plan.js';
import type { FileEvent } from '../../domain/files.js';
import type { AgentEvent } from './agent-protocol.js';

export interface MicrovmTools {
  qemu: string;
  qemuImg: string;
  mkfsExt4: string;
  busybox: string;
  aptGet: string;
  aptCache: string;
  dpkg: string;
}

export const DEFAULT_TOOLS: MicrovmTools = {
  qemu: '/usr/bin/qemu-system-x86_64',
  qemuImg: '/usr/bin/qemu-img',
  mkfsExt4: '/usr/sbin/mkfs.ext4',
  busybox: '/usr/bin/busybox',
  aptGet: '/usr/bin/apt-get',
  aptCache: '/usr/bin/apt-cache',
  dpkg: '/usr/bin/dpkg',
};

export type VmState = 'created' | 'running' | 'paused' | 'stopped';

export interface Vm {
  id: string;
  spec: SandboxSpec;
  shape: VmShape;
  paths: VmPaths;
  state: VmState;
  /** Read-only ext4 image of the template (the bottom of the disk chain). */
  image: string;
  /** A memory snapshot directory to restore from on first start (set by `restore`). */
  restoreFrom?: string;
  /** Whether the next start cold-boots (after stop) instead of restoring. */
  booted: boolean;
  /** Agent socket generation (a new one per adoption, see recovery.ts). */
  agentGeneration: number;
  pid?: number;
  agent?: AgentChannel;
  processes: Map<number, MicrovmProcess>;
  watchers: Map<number, { push: (event: FileEvent) => void; end: () => void }>;
  /** Agent events for a pid whose exec reply has not been handled yet. */
  earlyEvents: Map<number, AgentEvent[]>;
  nextWatchId: number;
  /** Open port-forwarding connections by id (ids chosen here; see ports.ts). */
  connections: Map<number, PortConnection>;
  nextConnectionId: number;
}

/** The host end of one forwarded TCP connection, fed by the agent's `conn` / `conn_end` events. */
export interface PortConnection {
  onData(data: Buffer): void;
  /** The service closed, the connection failed, or the VM/agent went away. */
  onEnd(): void;
}

export interface MicrovmContext {
  dataDir: string;
  /** Machine-wide cache of kernels, initramfs, root images and template snapshots. */
  cacheDir: string;
  accel: Accel;
  tools: MicrovmTools;
  tscKhz: number | undefined;
  qemuVersion: string;
  artifacts: () => Promise<BootArtifacts>;
  vms: Map<string, Vm>;
  locks: Map<string, Promise<unknown>>;
  /** In-flight builds (images, template snapshots), so concurrent creates share one. */
  builds: Map<string, Promise<unknown>>;
  /** Egress proxies of the VMs with a NIC (network.ts). */
  egress: SandboxEgress;
  /** Timings observed by this instance (ms), for reports and benchmarks. */
  timings: { coldBootMs: number[]; restoreMs: number[] };
}

/** The VM `id`, or `SandboxNotFoundError`. */
export function getVm(ctx: MicrovmContext, id: string): Vm {
  const vm = ctx.vms.get(id);
  if (!vm) throw new SandboxNotFoundError(id);
  return vm;
}

/** The VM's config file: what adopt needs (the spec holds env and secrets: mode 0600, never logged). */
export async function writeVmConfig(vm: Vm): Promise<void> {
  await writeFile(vm.paths.config, JSON.stringify({ spec: vm.spec, shape: vm.shape, image: vm.image, restoreFrom: vm.restoreFrom ?? null }), { mode: 0o600 });
}

/** Runs `fn` after every earlier locked operation on `key` has settled. */
export function withLock<T>(ctx: MicrovmContext, key: string, fn: () => Promise<T>): Promise<T> {
  const previous = ctx.locks.get(key) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  ctx.locks.set(key, tail);
  void tail.then(() => {
    if (ctx.locks.get(key) === tail) ctx.locks.delete(key);
  });
  return run;
}

/** Shares one in-flight build per key between concurrent callers. */
export function once<T>(ctx: MicrovmContext, key: string, fn: () => Promise<T>): Promise<T> {
  let pending = ctx.builds.get(key) as Promise<T> | undefined;
  if (!pending) {
    pending = fn().finally(() => ctx.builds.delete(key));
    ctx.builds.set(key, pending);
  }
  return pending;
}

/** The runtime record the engine persists (host paths stay backend-private). */
export function runtimeRecord(ctx: MicrovmContext, vm: Vm): Record<string, unknown> {
  return {
    backend: 'microvm',
    version: 1,
    dataDir: ctx.dataDir,
    accel: ctx.accel,
    state: vm.state,
    agentGeneration: vm.agentGeneration,
    ...(vm.pid !== undefined ? { pid: vm.pid } : {}),
  };
}
