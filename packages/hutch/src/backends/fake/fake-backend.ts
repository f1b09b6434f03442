/**
 * The fake backend: the reference implementation of the port, in memory and deterministic. It is
 * scriptable (canned capability report, unsupported-host mode, cleanup status, scripted processes,
 * injected failures), records every call, and shares its state with its clones. It isolates
 * nothing: it exists so that the engine, server and SDK can be tested in milliseconds.
 */
import { createHash } from 'node:crypto';
import { Duplex, PassThrough } from 'node:stream';
import {
  BadRequestError,
  CapabilityMissingError,
  FileNotFoundError,
  InvalidTransitionError,
  PortNotOpenError,
  ProcessNotFoundError,
  SandboxNotFoundError,
  UnsupportedHostError,
} from '../../domain/errors.js';
import type { FileEntry, FileEvent } from '../../domain/files.js';
import type { ExecSpec, ProcessInfo } from '../../domain/process.js';
import type { NetworkDecision, NetworkPolicy, RuntimeRecord, SandboxSpec, SandboxStats } from '../../domain/sandbox.js';
import type { SnapshotArtifact, SnapshotKind } from '../../domain/snapshot.js';
import { CAPABILITIES, type Capability, type CapabilityReport } from '../../port/capabilities.js';
import type { AdoptOutcome, CallOptions, CleanupResult, CleanupStatus, IsolationBackend, ProcessHandle, WriteFileOptions } from '../../port/isolation-backend.js';
import { normalizeSandboxPath } from '../../port/sandbox-path.js';
import { emptyTree, FakeFs, type FakeTree } from './fake-fs.js';
import { FakeProcess, scriptSteps, type FakeScript } from './fake-process.js';
import { compileShell } from './mini-shell.js';
import { FakeWorld, type FakeSandbox } from './world.js';
import { DecisionLog } from '../../host/egress/decision-log.js';
import { validateNetworkPolicy } from '../../domain/network-rules.js';

export interface FakeBackendOptions {
  /** Registry name (default `fake`). */
  name?: string;
  /** Overrides merged into the default capability report. */
  report?: Partial<CapabilityReport>;
  /** Capabilities to leave out of the report (and refuse when called). */
  without?: Capability[];
  /** Unsupported-host mode: health `unsupported_host` with these missing prerequisites. */
  unsupportedHost?: string[];
  /** What `destroy` and `reclaim` report (default `completed`). */
  cleanupStatus?: CleanupStatus;
  /** Canned process results: return a script to bypass the mini-shell for a command. */
  script?: (spec: ExecSpec, sandboxId: string) => FakeScript | undefined;
  /** Persist sandboxes and snapshots to this JSON file (see FakeWorld). */
  statePath?: string;
  /** Clock for timestamps (default: real time). */
  now?: () => string;
  /** Share a world with another fake (clones do this). */
  world?: FakeWorld;
}

type Method = keyof IsolationBackend;

export class FakeBackend implements IsolationBackend {
  readonly name: string;
  readonly world: FakeWorld;
  private readonly failures = new Map<string, unknown[]>();
  private readonly decisionLogs = new Map<string, DecisionLog>();
  private readonly now: () => string;

  constructor(private readonly options: FakeBackendOptions = {}) {
    this.name = options.name ?? 'fake';
    this.world = options.world ?? new FakeWorld(options.statePath);
    this.now = options.now ?? (() => new Date().toISOString());
  }

  /** A second handle on the same world (same sandboxes, same call log). */
  clone(overrides: Partial<FakeBackendOptions> = {}): FakeBackend {
    return new FakeBackend({ ...this.options, ...overrides, world: this.world });
  }

  /** Every port call so far, by method name, in order. */
  calls(): string[] {
    return [...this.world.calls];
  }

  callCount(method: Method): number {
    return this.world.calls.filter((c) => c === method).length;
  }

  /** The next call to `method` throws `error` (queued; one per call). */
  failNext(method: Method, error: unknown): void {
    const queue = this.failures.get(method) ?? [];
    queue.push(error);
    this.failures.set(method, queue);
  }

  private record(method: Method): void {
    this.world.calls.push(method);
    const queue = this.failures.get(method);
    if (queue?.length) throw queue.shift();
  }

  private supports(capability: Capability): boolean {
    return !this.options.without?.includes(capability);
  }

  private need(capability: Capability, why: string): void {
    if (!this.supports(capability)) throw new CapabilityMissingError(capability, this.name, why);
  }

  private sandbox(id: string): FakeSandbox {
    const sandbox = this.world.sandboxes.get(id);
    if (!sandbox) throw new SandboxNotFoundError(id);
    return sandbox;
  }

  private fs(sandbox: FakeSandbox): FakeFs {
    return new FakeFs(sandbox.tree, this.now, (event) => this.world.fileEvents.emit(sandbox.id, event));
  }

  private processesOf(id: string): Map<number, FakeProcess> {
    let map = this.world.processes.get(id);
    if (!map) this.world.processes.set(id, (map = new Map()));
    return map;
  }

  private killAll(id: string, reason: 'sandbox_destroyed' | 'signaled'): void {
    for (const p of this.world.processes.get(id)?.values() ?? []) p.kill(reason, 'SIGKILL');
  }

  async capabilities(): Promise<CapabilityReport> {
    this.record('capabilities');
    const missing = this.options.unsupportedHost;
    return {
      kind: 'fake',
      version: 'fake/1',
      health: missing ? { status: 'unsupported_host', missing } : { status: 'healthy' },
      platform: { os: 'fake', arch: 'fake', kernel: 'fake', emulated: false },
      capabilities: CAPABILITIES.filter((c) => this.supports(c)),
      notes: { isolation: 'none: in-memory test double' },
      ...this.options.report,
    };
  }

  async create(spec: SandboxSpec): Promise<RuntimeRecord> {
    this.record('create');
    if (this.options.unsupportedHost) throw new UnsupportedHostError(this.name, this.options.unsupportedHost);
    return this.prepare(spec, emptyTree(this.now()));
  }

  private prepare(spec: SandboxSpec, tree: FakeTree): RuntimeRecord {
    // Never keep secret values (the world may be saved to a file): names only.
    const safeSpec = { ...spec, env: {}, rootfsPath: undefined, ...(spec.secrets ? { secrets: spec.secrets.map((x) => ({ name: x.name, value: '' })) } : {}) };
    this.world.sandboxes.set(spec.id, { id: spec.id, state: 'created', spec: safeSpec, tree, nextPid: 2 });
    this.world.save();
    return { fake: true };
  }

  private transition(id: string, allowed: FakeSandbox['state'][], to: FakeSandbox['state'], verb: string): FakeSandbox {
    const sandbox = this.sandbox(id);
    if (!allowed.includes(sandbox.state)) throw new InvalidTransitionError(sandbox.state, to, verb);
    sandbox.state = to;
    this.world.save();
    return sandbox;
  }

  async start(id: string): Promise<RuntimeRecord> {
    this.record('start');
    this.transition(id, ['created', 'stopped'], 'running', 'start');
    return { fake: true };
  }

  async stop(id: string): Promise<RuntimeRecord> {
    this.record('stop');
    this.need('lifecycle.stop', 'stop a sandbox');
    this.transition(id, ['running'], 'stopped', 'stop');
    this.killAll(id, 'signaled');
    return { fake: true };
  }

  async pause(id: string): Promise<void> {
    this.record('pause');
    this.need('lifecycle.pause', 'pause a sandbox');
    this.transition(id, ['running'], 'paused', 'pause');
  }

  async resume(id: string): Promise<void> {
    this.record('resume');
    this.need('lifecycle.pause', 'resume a sandbox');
    this.transition(id, ['paused'], 'running', 'resume');
  }

  async destroy(id: string): Promise<CleanupResult> {
    this.record('destroy');
    this.sandbox(id);
    return this.discard(id, 'destroyed');
  }

  private discard(id: string, verb: string): CleanupResult {
    this.killAll(id, 'sandbox_destroyed');
    this.world.sandboxes.delete(id);
    this.world.processes.delete(id);
    this.world.save();
    const status = this.options.cleanupStatus ?? 'completed';
    return { status, summary: status === 'completed' ? `sandbox ${verb}; nothing left behind` : `sandbox ${verb}; host cleanup requires repair` };
  }

  async exec(id: string, spec: ExecSpec): Promise<ProcessHandle> {
    this.record('exec');
    const sandbox = this.sandbox(id);
    if (sandbox.state !== 'running') throw new InvalidTransitionError(sandbox.state, 'running', 'exec in');
    if (spec.pty) this.need('exec.pty', 'run a process with a PTY');
    if (spec.user) this.need('exec.user', 'run a process as another user');
    const scripted = this.options.script?.(spec, id);
    const line = spec.shell ?? [spec.cmd, ...(spec.args ?? [])].map((w) => (/\s/.test(w ?? '') ? `'${w}'` : w)).join(' ');
    const steps = scripted ? scriptSteps(scripted) : compileShell(line);
    const cwd = normalizeSandboxPath(spec.cwd ?? sandbox.spec.workdir ?? '/workspace');
    const process = new FakeProcess({ pid: sandbox.nextPid++, spec, env: spec.env ?? {}, fs: this.fs(sandbox), cwd, steps, now: this.now });
    this.processesOf(id).set(process.pid, process);
    return process;
  }

  async listProcesses(id: string): Promise<ProcessInfo[]> {
    this.record('listProcesses');
    this.sandbox(id);
    return [...this.processesOf(id).values()].map((p) => p.info());
  }

  async getProcess(id: string, pid: number): Promise<ProcessHandle> {
    this.record('getProcess');
    this.sandbox(id);
    const process = this.processesOf(id).get(pid);
    if (!process) throw new ProcessNotFoundError(id, pid);
    return process;
  }

  async stats(id: string): Promise<SandboxStats> {
    this.record('stats');
    const sandbox = this.sandbox(id);
    const running = [...this.processesOf(id).values()].filter((p) => p.info().running).length;
    const diskBytes = Object.values(sandbox.tree).reduce((n, node) => n + Buffer.from(node.data ?? '', 'base64').length, 0);
    return { cpuUsageMs: 0, memoryBytes: 1024 * 1024 * (1 + running), memoryLimitBytes: sandbox.spec.resources.memoryMib ? sandbox.spec.resources.memoryMib * 1024 * 1024 : null, pids: 1 + running, diskBytes, networkEgressBytes: 0, at: this.now() };
  }

  async readFile(id: string, path: string): Promise<AsyncIterable<Uint8Array>> {
    this.record('readFile');
    const data = this.fs(this.sandbox(id)).read(normalizeSandboxPath(path));
    return (async function* () {
      for (let i = 0; i < data.length || i === 0; i += 64 * 1024) {
        yield data.subarray(i, i + 64 * 1024);
        if (data.length === 0) break;
      }
    })();
  }

  async writeFile(id: string, path: string, data: Uint8Array | AsyncIterable<Uint8Array>, options: WriteFileOptions = {}): Promise<FileEntry> {
    this.record('writeFile');
    const sandbox = this.sandbox(id);
    const target = normalizeSandboxPath(path);
    let bytes: Buffer;
    if (data instanceof Uint8Array) bytes = Buffer.from(data);
    else {
      const parts: Buffer[] = [];
      for await (const chunk of data) parts.push(Buffer.from(chunk));
      bytes = Buffer.concat(parts);
    }
    const entry = this.fs(sandbox).write(target, bytes, options.mode, options.parents ?? true);
    this.world.save();
    return entry;
  }

  async listFiles(id: string, path: string, options: { depth?: number } = {}): Promise<FileEntry[]> {
    this.record('listFiles');
    return this.fs(this.sandbox(id)).list(normalizeSandboxPath(path), options.depth ?? 1);
  }

  async stat(id: string, path: string): Promise<FileEntry> {
    this.record('stat');
    const fs = this.fs(this.sandbox(id));
    const target = normalizeSandboxPath(path);
    return fs.entry(target, fs.resolve(target));
  }

  async mkdir(id: string, path: string, options: { parents?: boolean } = {}): Promise<FileEntry> {
    this.record('mkdir');
    const entry = this.fs(this.sandbox(id)).mkdir(normalizeSandboxPath(path), options.parents ?? false);
    this.world.save();
    return entry;
  }

  async move(id: string, from: string, to: string): Promise<FileEntry> {
    this.record('move');
    const entry = this.fs(this.sandbox(id)).move(normalizeSandboxPath(from), normalizeSandboxPath(to));
    this.world.save();
    return entry;
  }

  async remove(id: string, path: string, options: { recursive?: boolean } = {}): Promise<void> {
    this.record('remove');
    this.fs(this.sandbox(id)).remove(normalizeSandboxPath(path), options.recursive ?? false);
    this.world.save();
  }

  async *watch(id: string, path: string, options: { recursive?: boolean } & CallOptions = {}): AsyncIterable<FileEvent> {
    this.record('watch');
    const fs = this.fs(this.sandbox(id));
    const root = fs.resolve(normalizeSandboxPath(path));
    if (fs.tree[root]?.type !== 'dir') throw new FileNotFoundError(path);
    const queue: FileEvent[] = [];
    let wake: (() => void) | undefined;
    const onEvent = (event: FileEvent) => {
      const rel = event.path.slice(root === '/' ? 1 : root.length + 1);
      if (!event.path.startsWith(root === '/' ? '/' : `${root}/`)) return;
      if (!options.recursive && rel.includes('/')) return;
      queue.push(event);
      wake?.();
    };
    const onAbort = () => wake?.();
    this.world.fileEvents.on(id, onEvent);
    options.signal?.addEventListener('abort', onAbort);
    try {
      while (!options.signal?.aborted && this.world.sandboxes.has(id)) {
        if (queue.length) yield queue.shift()!;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      this.world.fileEvents.off(id, onEvent);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  async snapshot(id: string, request: { snapshotId: string; kind: SnapshotKind }): Promise<SnapshotArtifact> {
    this.record('snapshot');
    this.need('snapshot.filesystem', 'snapshot a sandbox');
    const sandbox = this.sandbox(id);
    const copy = structuredClone(sandbox.tree);
    const location = `fake-snapshot:${request.snapshotId}`;
    this.world.snapshots.set(location, copy);
    this.world.save();
    const bytes = Buffer.from(JSON.stringify(copy));
    return { snapshotId: request.snapshotId, backend: this.name, kind: request.kind, location, sizeBytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), memory: false };
  }

  async restore(artifact: SnapshotArtifact, spec: SandboxSpec): Promise<RuntimeRecord> {
    this.record('restore');
    const tree = this.world.snapshots.get(artifact.location);
    if (!tree) throw new FileNotFoundError(`snapshot ${artifact.snapshotId}`);
    return this.prepare(spec, structuredClone(tree));
  }

  async deleteSnapshot(artifact: SnapshotArtifact): Promise<void> {
    this.record('deleteSnapshot');
    this.world.snapshots.delete(artifact.location);
    this.world.save();
  }

  async exportSnapshot(artifact: SnapshotArtifact): Promise<AsyncIterable<Uint8Array>> {
    this.record('exportSnapshot');
    const tree = this.world.snapshots.get(artifact.location);
    if (!tree) throw new FileNotFoundError(`snapshot ${artifact.snapshotId}`);
    const bytes = Buffer.from(JSON.stringify(tree));
    return (async function* () {
      yield bytes;
    })();
  }

  async importSnapshot(expected: Omit<SnapshotArtifact, 'location' | 'backend'>, data: AsyncIterable<Uint8Array>): Promise<SnapshotArtifact> {
    this.record('importSnapshot');
    const parts: Buffer[] = [];
    for await (const chunk of data) parts.push(Buffer.from(chunk));
    const bytes = Buffer.concat(parts);
    if (bytes.length !== expected.sizeBytes || createHash('sha256').update(bytes).digest('hex') !== expected.sha256) {
      throw new BadRequestError(`Snapshot ${expected.snapshotId} does not match its recorded size and sha256.`, { snapshotId: expected.snapshotId });
    }
    const location = `fake-snapshot:${expected.snapshotId}`;
    this.world.snapshots.set(location, JSON.parse(bytes.toString()) as FakeTree);
    this.world.save();
    return { ...expected, backend: this.name, location };
  }

  /** Replaces the policy (validated against the sandbox's secret names); logs nothing by itself. */
  async updateNetwork(id: string, policy: NetworkPolicy): Promise<void> {
    this.record('updateNetwork');
    this.need('network.egress_rules', 'change the network policy of a sandbox');
    const sandbox = this.sandbox(id);
    validateNetworkPolicy(policy, new Set((sandbox.spec.secrets ?? []).map((x) => x.name)));
    sandbox.spec = { ...sandbox.spec, network: policy };
    this.world.save();
  }

  /** Decisions added with `addDecision` (the fake has no traffic of its own). */
  async networkDecisions(id: string, query?: { afterSeq?: number; limit?: number }): Promise<NetworkDecision[]> {
    this.record('networkDecisions');
    this.sandbox(id);
    return this.decisionLog(id).list(query?.afterSeq ?? 0, query?.limit);
  }

  followNetworkDecisions(id: string, afterSeq: number, signal: AbortSignal): AsyncIterable<NetworkDecision> {
    this.record('followNetworkDecisions');
    this.sandbox(id);
    return this.decisionLog(id).follow(afterSeq, signal);
  }

  /** Test hook: records an egress decision as if the sandbox had made a connection. */
  addDecision(id: string, decision: Omit<NetworkDecision, 'seq' | 'at'>): NetworkDecision {
    return this.decisionLog(id).append(decision);
  }

  private decisionLog(id: string): DecisionLog {
    let log = this.decisionLogs.get(id);
    if (!log) this.decisionLogs.set(id, (log = new DecisionLog(1000)));
    return log;
  }

  /** Connects to a listener registered in `world.listeners` (a fake service); refused otherwise. */
  async connectPort(id: string, port: number): Promise<Duplex> {
    this.record('connectPort');
    this.need('network.port_forward', 'connect to a port in a sandbox');
    if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new BadRequestError(`${port} is not a TCP port number.`, { port });
    const sandbox = this.sandbox(id);
    if (sandbox.state !== 'running') throw new InvalidTransitionError(sandbox.state, 'running', 'connect to a port in');
    const listener = this.world.listeners.get(`${id}:${port}`);
    if (!listener) throw new PortNotOpenError(id, port);
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    const client = Duplex.from({ readable: toClient, writable: toServer });
    const server = Duplex.from({ readable: toServer, writable: toClient });
    client.once('close', () => server.destroy());
    server.once('close', () => client.destroy());
    listener(server);
    return client;
  }

  async adopt(id: string): Promise<AdoptOutcome> {
    this.record('adopt');
    const sandbox = this.world.sandboxes.get(id);
    if (!sandbox || sandbox.state === 'created') return { status: 'gone', reason: sandbox ? 'never started' : 'no such sandbox on this host' };
    return { status: 'adopted', state: sandbox.state, record: { fake: true } };
  }

  async reclaim(id: string): Promise<CleanupResult> {
    this.record('reclaim');
    return this.discard(id, 'reclaimed');
  }

  async close(): Promise<void> {
    this.record('close');
  }
}
