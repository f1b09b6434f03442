/**
 * The microVM tier: every sandbox is a QEMU `-M microvm` guest with Debian's cloud kernel, the
 * template as a read-only ext4 image under a per-VM qcow2 overlay, and a python guest agent on a
 * virtio-serial port. Acceleration is KVM where the CPU has vmx/svm, or TCG on explicit opt-in
 * (then reported as emulated, not a security boundary). See README.md beside this file.
 * `createMicrovmBackend` is the only export.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CapabilityMissingError, InvalidTransitionError, ProcessNotFoundError, UnsupportedHostError } from '../../domain/errors.js';
import type { SandboxSpec, SandboxStats } from '../../domain/sandbox.js';
import type { CapabilityReport } from '../../port/capabilities.js';
import type { IsolationBackend } from '../../port/isolation-backend.js';
import { SandboxEgress, type EgressOptions } from '../../host/egress/sandbox-egress.js';
import { checkPortNumber } from '../../host/sandbox-port.js';
import type { AgentChannel } from './agent-channel.js';
import { prepareBootArtifacts, type BootArtifacts } from './artifacts.js';
import { missingPrerequisites, probeHost, reportFromProbe, resolveAccel, type AccelRequest, type HostProbe } from './capabilities.js';
import { DEFAULT_TOOLS, getVm, runtimeRecord, withLock, type MicrovmContext, type MicrovmTools, type Vm } from './context.js';
import { execInVm } from './exec.js';
import { listPath, mkdirPath, movePath, readPath, removePath, statPath, watchPath, writePath } from './files.js';
import { createVm, destroyVm, setPaused, startVm, stopVm } from './lifecycle.js';
import { updateVmNetwork } from './network.js';
import { connectGuestPort } from './ports.js';
import { adoptVm, reclaimVm } from './recovery.js';
import { deleteSnapshotDir, readSnapshot, snapshotVm } from './snapshots.js';

export interface MicrovmBackendOptions {
  /** Where VMs (overlays, sockets) and sandbox snapshots live. */
  dataDir: string;
  /**
   * Acceleration: `auto` (default) uses KVM when the CPU has vmx/svm and is otherwise unsupported;
   * `tcg` is the explicit opt-in to software emulation (not a security boundary).
   * @default process.env.HUTCH_MICROVM_ACCEL ?? 'auto'
   */
  accel?: AccelRequest;
  /**
   * Machine-wide cache of the kernel, initramfs, root images and template snapshots.
   * @default process.env.HUTCH_MICROVM_CACHE ?? '/var/cache/hutch/microvm'
   */
  cacheDir?: string;
  tools?: Partial<MicrovmTools>;
  /** Egress proxy settings (upstream DNS, upstream CA for re-originated HTTPS, shim path). */
  egress?: EgressOptions;
}

/**
 * Creates the microVM backend. Probing is lazy; every operation except `capabilities` throws
 * `UnsupportedHostError` (naming what is missing) on a host that cannot run it.
 */
export function createMicrovmBackend(options: MicrovmBackendOptions): IsolationBackend {
  const tools: MicrovmTools = { ...DEFAULT_TOOLS, ...options.tools };
  const request: AccelRequest = options.accel ?? (process.env.HUTCH_MICROVM_ACCEL as AccelRequest | undefined) ?? 'auto';
  const dataDir = resolve(options.dataDir);
  const cacheDir = resolve(options.cacheDir ?? process.env.HUTCH_MICROVM_CACHE ?? '/var/cache/hutch/microvm');
  let probe: Promise<HostProbe> | undefined;
  let ctxPromise: Promise<MicrovmContext> | undefined;
  const probed = () => (probe ??= probeHost(tools, options.egress?.shimPath));
  const context = () =>
    (ctxPromise ??= (async () => {
      const p = await probed();
      const missing = missingPrerequisites(p, request);
      const accel = resolveAccel(p, request);
      if (missing.length > 0 || !('accel' in accel)) throw new UnsupportedHostError('microvm', missing);
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      let artifacts: Promise<BootArtifacts> | undefined;
      const ctx: MicrovmContext = {
        dataDir, cacheDir, accel: accel.accel, tools, tscKhz: p.tscKhz, qemuVersion: p.qemuVersion ?? 'unknown',
        artifacts: () => (artifacts ??= prepareBootArtifacts(cacheDir, tools).catch((err) => ((artifacts = undefined), Promise.reject(err)))),
        vms: new Map(), locks: new Map(), builds: new Map(), egress: new SandboxEgress(dataDir, options.egress), timings: { coldBootMs: [], restoreMs: [] },
      };
      return ctx;
    })().catch((err) => ((ctxPromise = undefined), Promise.reject(err))));
  /** The VM and its agent; the VM must be running (exec, files, stats). */
  const live = async (id: string, verb: string): Promise<{ vm: Vm; agent: AgentChannel }> => {
    const vm = getVm(await context(), id);
    if (vm.state !== 'running') throw new InvalidTransitionError(vm.state, 'running', verb);
    if (!vm.agent) throw new InvalidTransitionError('lost', 'running', verb);
    return { vm, agent: vm.agent };
  };

  return {
    name: 'microvm',

    async capabilities(): Promise<CapabilityReport> {
      return reportFromProbe(await probed(), request);
    },

    async create(spec: SandboxSpec) {
      const ctx = await context();
      return withLock(ctx, spec.id, async () => runtimeRecord(ctx, await createVm(ctx, spec)));
    },
    async start(id) {
      const ctx = await context();
      getVm(ctx, id);
      return withLock(ctx, id, async () => runtimeRecord(ctx, await startVm(ctx, id)));
    },
    async stop(id) {
      const ctx = await context();
      getVm(ctx, id);
      return withLock(ctx, id, async () => runtimeRecord(ctx, await stopVm(ctx, id)));
    },
    async pause(id) {
      const ctx = await context();
      getVm(ctx, id);
      await withLock(ctx, id, () => setPaused(ctx, id, true));
    },
    async resume(id) {
      const ctx = await context();
      getVm(ctx, id);
      await withLock(ctx, id, () => setPaused(ctx, id, false));
    },
    async destroy(id) {
      const ctx = await context();
      getVm(ctx, id);
      return withLock(ctx, id, () => destroyVm(ctx, id));
    },

    async exec(id, spec) {
      const { vm, agent } = await live(id, 'exec in');
      return execInVm(vm, agent, spec);
    },
    async listProcesses(id) {
      return [...getVm(await context(), id).processes.values()].map((p) => p.info());
    },
    async getProcess(id, pid) {
      const proc = getVm(await context(), id).processes.get(pid);
      if (!proc) throw new ProcessNotFoundError(id, pid);
      return proc;
    },
    async stats(id): Promise<SandboxStats> {
      const { agent } = await live(id, 'read stats of');
      const s = await agent.request<{ cpu_ms: number; mem: number; mem_total: number; pids: number; disk: number }>('stats', {}, { timeoutMs: 30_000 });
      return { cpuUsageMs: s.cpu_ms, memoryBytes: s.mem, memoryLimitBytes: s.mem_total, pids: s.pids, diskBytes: s.disk, networkEgressBytes: (await context()).egress.egressBytes(id), at: new Date().toISOString() };
    },

    async readFile(id, path) {
      return readPath((await live(id, 'read files in')).agent, path);
    },
    async writeFile(id, path, data, opts) {
      return writePath((await live(id, 'write files in')).agent, path, data, opts?.mode, opts?.parents ?? true);
    },
    async listFiles(id, path, opts) {
      return listPath((await live(id, 'list files in')).agent, path, opts?.depth ?? 1);
    },
    async stat(id, path) {
      return statPath((await live(id, 'stat files in')).agent, path);
    },
    async mkdir(id, path, opts) {
      return mkdirPath((await live(id, 'make directories in')).agent, path, opts?.parents ?? false);
    },
    async move(id, from, to) {
      return movePath((await live(id, 'move files in')).agent, from, to);
    },
    async remove(id, path, opts) {
      await removePath((await live(id, 'remove files in')).agent, path, opts?.recursive ?? false);
    },
    watch(id, path, opts) {
      return (async function* () {
        const { vm, agent } = await live(id, 'watch files in');
        yield* watchPath(vm, agent, path, opts?.recursive ?? false, opts?.signal);
      })();
    },

    async snapshot(id, req) {
      const ctx = await context();
      const vm = getVm(ctx, id);
      return withLock(ctx, id, async () => {
        if (vm.state !== 'running' && vm.state !== 'paused') throw new InvalidTransitionError(vm.state, 'running|paused', 'snapshot');
        return snapshotVm(ctx, vm, req.snapshotId, req.kind);
      });
    },
    async restore(artifact, spec) {
      const ctx = await context();
      if (artifact.backend !== 'microvm') throw new CapabilityMissingError('snapshot.filesystem', 'microvm', `restore a ${artifact.backend} snapshot`);
      const from = await readSnapshot(artifact);
      return withLock(ctx, spec.id, async () => runtimeRecord(ctx, await createVm(ctx, spec, from)));
    },
    async deleteSnapshot(artifact) {
      await deleteSnapshotDir(await context(), artifact);
    },

    async connectPort(id, port, opts) {
      checkPortNumber(port);
      const { vm, agent } = await live(id, 'connect to a port in');
      return connectGuestPort(vm, agent, port, opts?.signal);
    },

    async updateNetwork(id, policy) {
      const ctx = await context();
      getVm(ctx, id);
      await withLock(ctx, id, () => updateVmNetwork(ctx, id, policy));
    },
    async networkDecisions(id, query) {
      const ctx = await context();
      getVm(ctx, id);
      return ctx.egress.decisions(id, query?.afterSeq ?? 0, query?.limit);
    },
    followNetworkDecisions(id, afterSeq, signal) {
      return (async function* () {
        const ctx = await context();
        getVm(ctx, id);
        yield* ctx.egress.follow(id, afterSeq, signal);
      })();
    },

    async adopt(id, record) {
      const ctx = await context();
      return withLock(ctx, id, () => adoptVm(ctx, id, record));
    },
    async reclaim(id) {
      const ctx = await context();
      return withLock(ctx, id, () => reclaimVm(ctx, id));
    },

    async close() {
      // VMs keep running (QEMU is detached); only this instance's connections and egress proxies
      // go (a later instance's adopt listens again, where QEMU's shim sends).
      if (!ctxPromise) return;
      const ctx = await ctxPromise.catch(() => undefined);
      for (const vm of ctx?.vms.values() ?? []) vm.agent?.close();
      await ctx?.egress.closeAll();
    },
  };
}
