/**
 * The process tier: sandboxes as bubblewrap namespaces on the host, with cgroup limits, a seccomp
 * filter and a detached init that survives server restarts. See README.md beside this file for
 * prerequisites, the capability table and known gaps. `createProcessBackend` is the only export.
 */
import { chmod, mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CapabilityMissingError, InvalidTransitionError, ProcessNotFoundError, UnsupportedHostError } from '../../domain/errors.js';
import type { ExecSpec } from '../../domain/process.js';
import type { SandboxSpec, SandboxStats } from '../../domain/sandbox.js';
import type { SnapshotArtifact } from '../../domain/snapshot.js';
import type { CapabilityReport } from '../../port/capabilities.js';
import type { CallOptions, IsolationBackend, WriteFileOptions } from '../../port/isolation-backend.js';
import { DEFAULT_TOOLS, missingPrerequisites, probeHost, reportFromProbe, type HostProbe, type HostTools } from './capabilities.js';
import { cgroupStats, setFrozen } from '../../host/cgroups.js';
import { getSandbox, runtimeRecord, withLock, type BackendContext } from './context.js';
import { execInSandbox } from './exec.js';
import { connectSandboxPort } from './ports.js';
import { listSandboxDir, makeDir, moveSandboxPath, readSandboxFile, removeSandboxPath, statSandboxPath, watchSandboxDir, writeSandboxFile } from '../../host/confined-files-ops.js';
import { createSandbox, destroySandbox, pauseSandbox, startSandbox, stopSandbox } from './lifecycle.js';
import { adoptSandbox, reclaimSandbox } from './recovery.js';
import { seccompArchFor } from './seccomp.js';
import { SandboxEgress, type EgressOptions } from '../../host/egress/sandbox-egress.js';
import { updateNetwork } from './network.js';
import { deleteSnapshotFile, exportSnapshotFile, importSnapshotFile, snapshotSandbox, unpackSnapshot } from './snapshots.js';

export interface ProcessBackendOptions {
  /** Where sandboxes, workspaces and snapshots live. Its parents must be traversable (o+x). */
  dataDir: string;
  /** Paths of the host tools; defaults to the Debian locations under /usr/bin. */
  tools?: Partial<HostTools>;
  /** Egress proxy settings (upstream DNS, upstream CA for re-originated HTTPS, shim path). */
  egress?: EgressOptions;
}

/**
 * Creates the process (bubblewrap) backend. Probing the host is lazy: the first call probes, and
 * every operation except `capabilities` throws `UnsupportedHostError` on a host that lacks a
 * prerequisite.
 */
export function createProcessBackend(options: ProcessBackendOptions): IsolationBackend {
  const tools: HostTools = { ...DEFAULT_TOOLS, ...options.tools };
  const dataDir = resolve(options.dataDir);
  let probe: Promise<HostProbe> | undefined;
  let ctxPromise: Promise<BackendContext> | undefined;
  const probed = () => (probe ??= probeHost(tools));
  const context = () =>
    (ctxPromise ??= (async () => {
      const p = await probed();
      const missing = missingPrerequisites(p);
      if (missing.length > 0) throw new UnsupportedHostError('process', missing);
      await mkdir(dataDir, { recursive: true, mode: 0o711 });
      // The sandbox's root (host uid 100000) must be able to traverse to its workspace.
      await chmod(dataDir, 0o711);
      return { dataDir, tools, launcher: p.launcher, ...(p.launcher && p.agent ? { agent: p.agent } : {}), layout: p.cgroups, arch: seccompArchFor(p.arch)!, sandboxes: new Map(), locks: new Map(), egress: new SandboxEgress(dataDir, options.egress) };
    })());
  const running = async (id: string, verb: string) => {
    const ctx = await context();
    const sandbox = getSandbox(ctx, id);
    if (sandbox.state !== 'running' && sandbox.state !== 'paused' && sandbox.state !== 'stopped' && sandbox.state !== 'created') {
      throw new InvalidTransitionError(sandbox.state, 'running', verb);
    }
    return { ctx, sandbox };
  };

  return {
    name: 'process',

    async capabilities(): Promise<CapabilityReport> {
      return reportFromProbe(await probed());
    },

    async create(spec: SandboxSpec) {
      const ctx = await context();
      return withLock(ctx, spec.id, async () => runtimeRecord(ctx, await createSandbox(ctx, spec)));
    },
    async start(id) {
      const ctx = await context();
      return withLock(ctx, id, async () => runtimeRecord(ctx, await startSandbox(ctx, id)));
    },
    async stop(id) {
      const ctx = await context();
      return withLock(ctx, id, async () => runtimeRecord(ctx, await stopSandbox(ctx, id)));
    },
    async pause(id) {
      const ctx = await context();
      await withLock(ctx, id, () => pauseSandbox(ctx, id, true));
    },
    async resume(id) {
      const ctx = await context();
      await withLock(ctx, id, () => pauseSandbox(ctx, id, false));
    },
    async destroy(id) {
      const ctx = await context();
      getSandbox(ctx, id);
      return withLock(ctx, id, () => destroySandbox(ctx, id));
    },

    async exec(id: string, spec: ExecSpec) {
      return execInSandbox(await context(), id, spec);
    },
    async listProcesses(id) {
      return [...getSandbox(await context(), id).processes.values()].map((p) => p.info());
    },
    async getProcess(id, pid) {
      const proc = getSandbox(await context(), id).processes.get(pid);
      if (!proc) throw new ProcessNotFoundError(id, pid);
      return proc;
    },
    async stats(id): Promise<SandboxStats> {
      const ctx = await context();
      getSandbox(ctx, id);
      if (ctx.layout.mode === 'none') throw new CapabilityMissingError('stats', 'process', 'read sandbox stats without cgroups');
      return { ...(await cgroupStats(ctx.layout, id)), diskBytes: null, networkEgressBytes: ctx.egress.egressBytes(id), at: new Date().toISOString() };
    },

    async readFile(id, path) {
      const { sandbox } = await running(id, 'read files in');
      return readSandboxFile(sandbox, path);
    },
    async writeFile(id, path, data, opts?: WriteFileOptions & CallOptions) {
      const { sandbox } = await running(id, 'write files in');
      return writeSandboxFile(sandbox, path, data, opts?.mode, opts?.parents ?? true);
    },
    async listFiles(id, path, opts) {
      const { sandbox } = await running(id, 'list files in');
      return listSandboxDir(sandbox, path, opts?.depth ?? 1);
    },
    async stat(id, path) {
      const { sandbox } = await running(id, 'stat files in');
      return statSandboxPath(sandbox, path);
    },
    async mkdir(id, path, opts) {
      const { sandbox } = await running(id, 'make directories in');
      return makeDir(sandbox, path, opts?.parents ?? false);
    },
    async move(id, from, to) {
      const { sandbox } = await running(id, 'move files in');
      return moveSandboxPath(sandbox, from, to);
    },
    async remove(id, path, opts) {
      const { ctx, sandbox } = await running(id, 'remove files in');
      // A recursive removal walks a tree sandbox processes could be changing: freeze them meanwhile.
      const freeze = opts?.recursive === true && sandbox.state === 'running' && ctx.layout.mode !== 'none';
      if (freeze) await setFrozen(ctx.layout, id, true);
      try {
        await removeSandboxPath(sandbox, path, opts?.recursive ?? false);
      } finally {
        if (freeze) await setFrozen(ctx.layout, id, false);
      }
    },
    watch(id, path, opts) {
      return (async function* () {
        const { sandbox } = await running(id, 'watch files in');
        yield* watchSandboxDir(sandbox, path, opts?.recursive ?? false, opts?.signal);
      })();
    },

    async snapshot(id, request) {
      const { ctx, sandbox } = await running(id, 'snapshot');
      return withLock(ctx, id, () => snapshotSandbox(ctx, sandbox, request.snapshotId, request.kind));
    },
    async restore(artifact: SnapshotArtifact, spec: SandboxSpec) {
      const ctx = await context();
      return withLock(ctx, spec.id, async () => {
        const sandbox = await createSandbox(ctx, spec);
        try {
          await unpackSnapshot(ctx, artifact, sandbox.paths.dir);
        } catch (err) {
          await destroySandbox(ctx, spec.id);
          throw err;
        }
        return runtimeRecord(ctx, sandbox);
      });
    },
    async deleteSnapshot(artifact) {
      await deleteSnapshotFile(await context(), artifact);
    },
    async exportSnapshot(artifact) {
      return exportSnapshotFile(await context(), artifact);
    },
    async importSnapshot(expected, data) {
      return importSnapshotFile(await context(), expected, data);
    },

    async connectPort(id, port, opts) {
      return connectSandboxPort(await context(), id, port, opts?.signal);
    },

    async updateNetwork(id, policy) {
      const ctx = await context();
      await withLock(ctx, id, () => updateNetwork(ctx, id, policy));
    },
    async networkDecisions(id, query) {
      const ctx = await context();
      getSandbox(ctx, id);
      return ctx.egress.decisions(id, query?.afterSeq ?? 0, query?.limit);
    },
    followNetworkDecisions(id, afterSeq, signal) {
      return (async function* () {
        const ctx = await context();
        getSandbox(ctx, id);
        yield* ctx.egress.follow(id, afterSeq, signal);
      })();
    },

    async adopt(id, record) {
      const ctx = await context();
      return withLock(ctx, id, () => adoptSandbox(ctx, id, record));
    },
    async reclaim(id, record) {
      const ctx = await context();
      return withLock(ctx, id, () => reclaimSandbox(ctx, id, record));
    },

    async close() {
      // Sandboxes keep running; only this instance's bookkeeping goes: exec'd commands run in
      // their own sessions and end with their sandbox. Egress proxies close (connections through
      // them end); a later instance's adopt listens again.
      if (ctxPromise) await (await ctxPromise.catch(() => undefined))?.egress.closeAll();
    },
  };
}
