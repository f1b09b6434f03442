/**
 * The container tier: one OCI bundle per sandbox run by crun (default), runc or runsc, with the
 * template as the read-only lower layer of an overlay root, a user namespace (ids 0..65535 → host
 * 100000..165535), cgroup limits, a seccomp profile and its own network namespace. Containers are
 * detached, so they survive a server restart. See README.md beside this file for prerequisites,
 * the hybrid-cgroup workaround, the capability table and known gaps.
 * `createContainerBackend` is the only export.
 */
import { chmod, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CapabilityMissingError, InvalidTransitionError, ProcessNotFoundError, UnsupportedHostError } from '../../domain/errors.js';
import type { SandboxSpec, SandboxStats } from '../../domain/sandbox.js';
import type { CapabilityReport } from '../../port/capabilities.js';
import type { CallOptions, IsolationBackend, WriteFileOptions } from '../../port/isolation-backend.js';
import { cgroupStats, setFrozen } from '../../host/cgroups.js';
import {
  listSandboxDir, makeDir, moveSandboxPath, readSandboxFile, removeSandboxPath, statSandboxPath, watchSandboxDir, writeSandboxFile,
} from '../../host/confined-files-ops.js';
import { DEFAULT_TOOLS, missingPrerequisites, probeHost, reportFromProbe, type ContainerProbe, type ContainerTools } from './capabilities.js';
import { getSandbox, runtimeRecord, withLock, type ContainerContext } from './context.js';
import { ensureAgentTools } from './agent.js';
import { execInSandbox } from './exec.js';
import { connectSandboxPort } from './ports.js';
import { createSandbox, destroySandbox, pauseSandbox, startSandbox, stopSandbox } from './lifecycle.js';
import { runtimeRoot, type RuntimeKind } from './plan.js';
import { adoptSandbox, reclaimSandbox } from './recovery.js';
import { ensureMntnsHelper, RuntimeNamespace } from './runtime-ns.js';
import { updateNetwork } from './network.js';
import { SandboxEgress, type EgressOptions } from '../../host/egress/sandbox-egress.js';
import { deleteSnapshotFile, exportSnapshotFile, importSnapshotFile, snapshotSandbox, unpackSnapshot } from './snapshots.js';

export interface ContainerBackendOptions {
  /** Where bundles, overlays, runtime state and snapshots live. Its parents must be traversable (o+x). */
  dataDir: string;
  /** The OCI runtime. Default: crun when installed, else runc. */
  runtime?: RuntimeKind;
  /**
   * Root filesystem for a sandbox created without a template (`spec.rootfsPath` undefined), e.g.
   * the `base` template's. Without it such a create is refused with `bad_request`.
   */
  defaultRootfsPath?: () => Promise<string>;
  /**
   * Sets `no_new_privs` on every container process. Default false, as in Docker: setuid programs
   * of the template (sudo) then work; they can only ever reach the sandbox's own root (host uid
   * 100000), and the seccomp profile binds every process either way.
   */
  noNewPrivileges?: boolean;
  /** Egress proxy settings (upstream DNS, upstream CA for re-originated HTTPS, shim path). */
  egress?: EgressOptions;
  /**
   * crun on a hybrid cgroup host: run every call in one long-lived private mount namespace
   * (native/hutch-mntns.c, built on first use) instead of a throw-away one per call. Default true;
   * without gcc the per-call wrapper is used either way.
   */
  runtimeNamespace?: boolean;
  /** Paths of the host tools; defaults to the Debian locations. */
  tools?: Partial<ContainerTools>;
}

/**
 * Creates the container backend. Probing is lazy: the first call probes, and every operation
 * except `capabilities` throws `UnsupportedHostError` on a host that lacks a prerequisite.
 */
export function createContainerBackend(options: ContainerBackendOptions): IsolationBackend {
  const tools: ContainerTools = { ...DEFAULT_TOOLS, ...options.tools };
  const dataDir = resolve(options.dataDir);
  let probe: Promise<ContainerProbe> | undefined;
  let ctxPromise: Promise<ContainerContext> | undefined;
  const probed = () => (probe ??= probeHost(tools, options.runtime));
  const context = () =>
    (ctxPromise ??= (async () => {
      const p = await probed();
      const missing = missingPrerequisites(p);
      if (missing.length > 0) throw new UnsupportedHostError('container', missing);
      await mkdir(dataDir, { recursive: true, mode: 0o711 });
      // Container root (host uid 100000) must be able to traverse to its bundle's files.
      await chmod(dataDir, 0o711);
      const root = runtimeRoot(dataDir, p.runtime);
      await mkdir(root, { recursive: true, mode: 0o700 });
      const hybrid = p.runtime === 'crun' ? p.hybridCgroup2 : undefined;
      const helper = hybrid && options.runtimeNamespace !== false ? await ensureMntnsHelper(tools.mntns) : undefined;
      const agent = p.runtime === 'crun' ? await ensureAgentTools(tools) : undefined;
      return {
        dataDir,
        tools,
        runtime: { kind: p.runtime, path: p.runtimePath, root, unsharePath: tools.unshare, sandboxesDir: join(dataDir, 'sandboxes'), ...(hybrid ? { hybridUnmount: hybrid } : {}) },
        ...(hybrid && helper ? { runtimeNs: new RuntimeNamespace(helper, hybrid) } : {}),
        layout: p.cgroups,
        ...(agent ? { agent } : {}),
        noNewPrivileges: options.noNewPrivileges ?? false,
        ...(options.defaultRootfsPath ? { defaultRootfsPath: options.defaultRootfsPath } : {}),
        sandboxes: new Map(),
        locks: new Map(),
        egress: new SandboxEgress(dataDir, options.egress),
      } satisfies ContainerContext;
    })());
  /** Files are served from the host-mounted overlay, so they work in every state but destroyed. */
  const known = async (id: string) => {
    const ctx = await context();
    return { ctx, sandbox: getSandbox(ctx, id) };
  };

  return {
    name: 'container',

    async capabilities(): Promise<CapabilityReport> {
      return reportFromProbe(await probed());
    },

    async create(spec: SandboxSpec) {
      const ctx = await context();
      return withLock(ctx, spec.id, async () => runtimeRecord(ctx, await createSandbox(ctx, spec)));
    },
    async start(id) {
      const ctx = await context();
      getSandbox(ctx, id);
      return withLock(ctx, id, async () => runtimeRecord(ctx, await startSandbox(ctx, id)));
    },
    async stop(id) {
      const ctx = await context();
      getSandbox(ctx, id);
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

    async exec(id, spec) {
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
      const { ctx, sandbox } = await known(id);
      if (sandbox.state !== 'running' && sandbox.state !== 'paused') throw new InvalidTransitionError(sandbox.state === 'created' ? 'creating' : sandbox.state, 'running', 'read stats of');
      return { ...(await cgroupStats(ctx.layout, id)), diskBytes: null, networkEgressBytes: ctx.egress.egressBytes(id), at: new Date().toISOString() };
    },

    async readFile(id, path) {
      return readSandboxFile((await known(id)).sandbox, path);
    },
    async writeFile(id, path, data, opts?: WriteFileOptions & CallOptions) {
      return writeSandboxFile((await known(id)).sandbox, path, data, opts?.mode, opts?.parents ?? true);
    },
    async listFiles(id, path, opts) {
      return listSandboxDir((await known(id)).sandbox, path, opts?.depth ?? 1);
    },
    async stat(id, path) {
      return statSandboxPath((await known(id)).sandbox, path);
    },
    async mkdir(id, path, opts) {
      return makeDir((await known(id)).sandbox, path, opts?.parents ?? false);
    },
    async move(id, from, to) {
      return moveSandboxPath((await known(id)).sandbox, from, to);
    },
    async remove(id, path, opts) {
      const { ctx, sandbox } = await known(id);
      // A recursive removal walks a tree container processes could be changing: freeze them meanwhile.
      const freeze = opts?.recursive === true && sandbox.state === 'running';
      if (freeze) await setFrozen(ctx.layout, id, true);
      try {
        await removeSandboxPath(sandbox, path, opts?.recursive ?? false);
      } finally {
        if (freeze) await setFrozen(ctx.layout, id, false);
      }
    },
    watch(id, path, opts) {
      return (async function* () {
        const { sandbox } = await known(id);
        yield* watchSandboxDir(sandbox, path, opts?.recursive ?? false, opts?.signal);
      })();
    },

    async snapshot(id, request) {
      const { ctx, sandbox } = await known(id);
      return withLock(ctx, id, () => snapshotSandbox(ctx, sandbox, request.snapshotId, request.kind));
    },
    async restore(artifact, spec) {
      const ctx = await context();
      if (artifact.memory) throw new CapabilityMissingError('snapshot.memory', 'container', 'restore process memory');
      return withLock(ctx, spec.id, async () => runtimeRecord(ctx, await createSandbox(ctx, spec, (paths) => unpackSnapshot(ctx, artifact, paths))));
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

    async adopt(id) {
      const ctx = await context();
      return withLock(ctx, id, () => adoptSandbox(ctx, id));
    },
    async reclaim(id) {
      const ctx = await context();
      return withLock(ctx, id, () => reclaimSandbox(ctx, id));
    },

    async close() {
      // Containers keep running (detached); only this instance's bookkeeping goes, and its
      // egress proxies (a later instance's adopt listens again).
      // The runtime namespace's holder goes too (containers do not depend on it).
      const ctx = ctxPromise ? await ctxPromise.catch(() => undefined) : undefined;
      ctx?.runtimeNs?.close();
      await ctx?.egress.closeAll();
    },
  };
}
