/**
 * The single-node engine: owns sandbox state (SQLite under the data directory), the journal, events,
 * deadlines and recovery, and drives the backends through the port. The server and the embedding
 * API call it; it never imports the server.
 *
 *   const engine = await Engine.open({ dataDir, registry });
 *   const sbx = await engine.lifecycle.create({ timeoutMs: 60_000 });
 *   const result = await engine.processes.run(sbx.id, { shell: 'echo hi' });
 */
import { BadRequestError } from '../domain/errors.js';
import type { SandboxInfo, SandboxStats } from '../domain/sandbox.js';
import { assertStateIn, SANDBOX_STATES, type SandboxState } from '../domain/sandbox-state.js';
import type { CapabilityReport } from '../port/capabilities.js';
import type { CallOptions } from '../port/isolation-backend.js';
import type { BackendRegistry } from '../port/registry.js';
import { defaultAdmissionLimits, statfsProbe, type AdmissionLimits, type DiskProbe } from './admission.js';
import { EngineContext, silentLogger, type EngineLogger } from './context.js';
import { EventLog, type SandboxEvent } from './events.js';
import { Files } from './files.js';
import { Journal, type JournalRecord } from './journal.js';
import { KeyedMutex } from './keyed-mutex.js';
import { Lifecycle, type TemplateResolver } from './lifecycle.js';
import { Processes } from './processes.js';
import { recover, type RecoveryReport } from './recovery.js';
import { decodeCursor, encodeCursor, toSandboxInfo } from './sandbox-info.js';
import { Sessions } from './sessions.js';
import { Snapshots } from './snapshots.js';
import { Pools, type PoolSpec } from './pools.js';
import { Ports } from './ports.js';
import { Network } from './network.js';
import { templateStartHook } from './template-hooks.js';
import { isTemplateCatalog, type TemplateCatalog } from './templates.js';
import { openDatabase, Store } from './store.js';
import { Workspaces, type WorkspaceProvider } from './workspaces.js';

export interface EngineOptions {
  /** Where the database and backend state live. Created with mode 0700. */
  dataDir: string;
  registry: BackendRegistry;
  limits?: Partial<AdmissionLimits>;
  /** Default sandbox deadline (default 300 000 ms). */
  defaultTimeoutMs?: number;
  /** How long destroyed sandboxes stay visible as tombstones (default 1 h). */
  tombstoneMs?: number;
  templates?: TemplateResolver;
  /** Codebase store and per-sandbox workspaces (e.g. `createWorkspaceProvider(dataDir)`). */
  workspaces?: WorkspaceProvider;
  /** Template used when a create names none, per backend, e.g. `{ container: 'base' }`. */
  defaultTemplates?: Record<string, string>;
  /** Warm pools to keep filled from the start (more can be configured with `engine.pools`). */
  pools?: PoolSpec[];
  logger?: EngineLogger;
  clock?: () => Date;
  diskProbe?: DiskProbe;
}

export interface ListSandboxesOptions {
  state?: SandboxState | SandboxState[];
  backend?: string;
  /** Every given key must match exactly. */
  metadata?: Record<string, string>;
  /** Page size (default 100, at most 1000). */
  limit?: number;
  cursor?: string;
}

export class Engine {
  readonly lifecycle: Lifecycle;
  readonly processes: Processes;
  readonly files: Files;
  readonly snapshots: Snapshots;
  readonly sessions: Sessions;
  readonly pools: Pools;
  /** The template store, when the engine was opened with one that can build. */
  readonly templates: TemplateCatalog | undefined;
  readonly ports: Ports;
  readonly network: Network;
  /** Codebases and sandbox workspaces (changes, checkpoints, revert, commit). */
  readonly workspaces: Workspaces;
  readonly registry: BackendRegistry;
  /** What recovery found when this engine opened. */
  recovery: RecoveryReport = { adopted: [], failed: [], destroyed: [], repairs: 0 };
  private readonly ctx: EngineContext;
  private readonly tombstoneMs: number;
  private sweeper: NodeJS.Timeout | undefined;

  private constructor(options: EngineOptions, store: Store) {
    const clock = options.clock ?? (() => new Date());
    const now = () => clock().toISOString();
    this.registry = options.registry;
    this.ctx = new EngineContext(store, new Journal(store, now), new EventLog(store, now), options.registry, new KeyedMutex(), clock, options.logger ?? silentLogger);
    const limits = { ...defaultAdmissionLimits(), ...options.limits };
    const diskProbe = options.diskProbe ?? statfsProbe(options.dataDir);
    this.lifecycle = new Lifecycle(this.ctx, {
      limits,
      diskProbe,
      defaultTimeoutMs: options.defaultTimeoutMs ?? 300_000,
      ...(options.templates ? { templates: options.templates } : {}),
      ...(options.defaultTemplates ? { defaultTemplates: options.defaultTemplates } : {}),
      ...(options.workspaces ? { workspaces: options.workspaces } : {}),
    });
    this.workspaces = new Workspaces(this.ctx, options.workspaces);
    this.processes = new Processes(this.ctx);
    this.files = new Files(this.ctx);
    this.snapshots = new Snapshots(this.ctx, this.lifecycle, limits, diskProbe);
    this.sessions = new Sessions(this.ctx, this.processes);
    this.ports = new Ports(this.ctx);
    this.network = new Network(this.ctx);
    this.lifecycle.onGone.push((id) => this.sessions.forget(id));
    this.lifecycle.onTemplateStart.push(templateStartHook(this.processes));
    this.pools = new Pools(this.ctx, this.lifecycle, limits, diskProbe);
    this.lifecycle.pool = this.pools;
    this.tombstoneMs = options.tombstoneMs ?? 3600_000;
    this.templates = isTemplateCatalog(options.templates) ? options.templates : undefined;
  }

  /** Opens the data directory, replays the journal (adopt, reclaim, repair) and re-arms deadlines. */
  static async open(options: EngineOptions): Promise<Engine> {
    const store = new Store(openDatabase(options.dataDir));
    const engine = new Engine(options, store);
    engine.recovery = await recover(engine.ctx);
    if (options.workspaces) {
      const live = store.listSandboxes({ states: ['creating', 'running', 'paused', 'stopped'], pool: 'any' }).map((r) => r.id);
      await options.workspaces.reconcile(new Set(live));
    }
    for (const row of store.listSandboxes({ states: ['running', 'paused', 'stopped'] })) engine.lifecycle.deadlines.set(row.id, row.deadline_at);
    for (const spec of options.pools ?? []) engine.pools.configure(spec);
    const configured = new Set(engine.pools.status().map((p) => p.key));
    for (const row of store.listSandboxes({ states: ['running', 'paused', 'stopped'], pool: 'any' })) {
      if (row.pool !== null && !configured.has(row.pool)) await engine.lifecycle.destroy(row.id, 'warm pool no longer configured').catch(() => undefined);
    }
    engine.sweeper = setInterval(() => engine.sweepTombstones(), 60_000);
    engine.sweeper.unref();
    return engine;
  }

  /** Stops timers and closes the store. Sandboxes keep running; a later `open` adopts them. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await this.pools.stop();
    this.lifecycle.deadlines.clearAll();
    await this.sessions.closeAll();
    for (const backend of this.registry.all()) await backend.close();
    this.ctx.store.close();
  }

  capabilities(backend?: string): Promise<CapabilityReport> {
    return this.ctx.report(this.registry.get(backend));
  }

  get(sandboxId: string): SandboxInfo {
    return this.lifecycle.get(sandboxId);
  }

  /** Sandboxes oldest first, filtered, one page at a time (`nextCursor` null on the last page). */
  list(options: ListSandboxesOptions = {}): { items: SandboxInfo[]; nextCursor: string | null } {
    const states = options.state === undefined ? undefined : Array.isArray(options.state) ? options.state : [options.state];
    for (const s of states ?? []) if (!SANDBOX_STATES.includes(s)) throw new BadRequestError(`Unknown state "${s}". States: ${SANDBOX_STATES.join(', ')}.`, { field: 'state' });
    const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000);
    const after = options.cursor ? decodeCursor(options.cursor) : undefined;
    if (options.cursor && !after) throw new BadRequestError('The cursor is not one this server returned.', { field: 'cursor' });
    const rows = this.ctx.store
      .listSandboxes({ ...(states ? { states } : {}), ...(options.backend ? { backend: options.backend } : {}), ...(after ? { afterCreatedAt: after.createdAt, afterId: after.id } : {}) })
      .filter((row) => {
        const metadata = JSON.parse(row.metadata) as Record<string, string>;
        return Object.entries(options.metadata ?? {}).every(([k, v]) => metadata[k] === v);
      });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map(toSandboxInfo), nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
  }

  async stats(sandboxId: string, options?: CallOptions): Promise<SandboxStats> {
    const row = this.ctx.row(sandboxId);
    assertStateIn(row.state as SandboxState, ['running', 'paused'], 'read stats of');
    return this.ctx.backendOf(row).stats(sandboxId, options);
  }

  events(filter: { sandboxId?: string; afterSeq?: number; limit?: number } = {}): SandboxEvent[] {
    if (filter.sandboxId) this.ctx.row(filter.sandboxId);
    return this.ctx.events.list(filter);
  }

  followEvents(filter: { sandboxId?: string; afterSeq?: number }, signal: AbortSignal): AsyncIterable<SandboxEvent> {
    if (filter.sandboxId) this.ctx.row(filter.sandboxId);
    return this.ctx.events.follow(filter, signal);
  }

  journal(filter: { sandboxId?: string; afterSeq?: number; limit?: number } = {}): JournalRecord[] {
    return this.ctx.journal.records(filter);
  }

  /** Live sandboxes by state, for metrics. */
  countByState(): Record<SandboxState, number> {
    const counts = Object.fromEntries(SANDBOX_STATES.map((s) => [s, 0])) as Record<SandboxState, number>;
    for (const row of this.ctx.store.listSandboxes({})) counts[row.state as SandboxState]++;
    return counts;
  }

  /** Template names that live sandboxes, pooled sandboxes or snapshots still need (for template GC). */
  templateNamesInUse(): Set<string> {
    const names = new Set<string>();
    for (const row of this.ctx.store.listSandboxes({ states: ['creating', 'running', 'paused', 'stopped'], pool: 'any' })) if (row.template) names.add(row.template);
    for (const row of this.ctx.store.listSnapshots()) if (row.template) names.add(row.template);
    return names;
  }

  /** Server-level key/value settings (e.g. API key hashes) kept in the same store. */
  get settings(): { get(key: string): string | undefined; set(key: string, value: string): void } {
    return { get: (k) => this.ctx.store.getMeta(k), set: (k, v) => this.ctx.store.setMeta(k, v) };
  }

  private sweepTombstones(): void {
    this.ctx.store.deleteSandboxesDestroyedBefore(new Date(this.ctx.clock().getTime() - this.tombstoneMs).toISOString());
  }
}
