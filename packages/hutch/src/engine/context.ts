/**
 * What every engine service shares: the store, journal, events, backends, per-sandbox locks and
 * the clock, plus the small lookups they all need. No service keeps module-level state.
 */
import { SandboxNotFoundError } from '../domain/errors.js';
import type { RuntimeRecord, SandboxSpec } from '../domain/sandbox.js';
import type { SandboxState } from '../domain/sandbox-state.js';
import type { CapabilityReport } from '../port/capabilities.js';
import type { IsolationBackend } from '../port/isolation-backend.js';
import type { BackendRegistry } from '../port/registry.js';
import type { EventLog } from './events.js';
import type { Journal } from './journal.js';
import type { KeyedMutex } from './keyed-mutex.js';
import type { SandboxRow, Store } from './store.js';

/** The minimal logger the engine needs (pino satisfies it). */
export interface EngineLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: EngineLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export class EngineContext {
  private readonly reports = new Map<string, { report: CapabilityReport; at: number }>();

  constructor(
    readonly store: Store,
    readonly journal: Journal,
    readonly events: EventLog,
    readonly registry: BackendRegistry,
    readonly locks: KeyedMutex,
    readonly clock: () => Date,
    readonly logger: EngineLogger,
  ) {}

  now(): string {
    return this.clock().toISOString();
  }

  /** The stored row, including tombstones; throws `SandboxNotFoundError`. */
  row(sandboxId: string): SandboxRow {
    const row = this.store.getSandbox(sandboxId);
    if (!row) throw new SandboxNotFoundError(sandboxId);
    return row;
  }

  backendOf(row: SandboxRow): IsolationBackend {
    return this.registry.get(row.backend);
  }

  /** The backend's capability report, cached for 30 s (host probes are not free). */
  async report(backend: IsolationBackend): Promise<CapabilityReport> {
    const cached = this.reports.get(backend.name);
    if (cached && Date.now() - cached.at < 30_000) return cached.report;
    const report = await backend.capabilities();
    this.reports.set(backend.name, { report, at: Date.now() });
    return report;
  }

  setState(sandboxId: string, state: SandboxState, extra: Partial<Omit<SandboxRow, 'id' | 'state'>> = {}): void {
    this.store.updateSandbox(sandboxId, { state, ...extra });
  }

  saveRuntime(sandboxId: string, record: RuntimeRecord): void {
    this.store.updateSandbox(sandboxId, { runtime: JSON.stringify(record) });
  }

  /** Rebuilds the backend spec of a stored sandbox (env included: backend-only). */
  specOf(row: SandboxRow, rootfsPath?: string): SandboxSpec {
    const spec: SandboxSpec = {
      id: row.id,
      resources: JSON.parse(row.resources),
      env: JSON.parse(row.env),
      network: JSON.parse(row.network),
    };
    if (row.template !== null) spec.template = row.template;
    if (rootfsPath !== undefined) spec.rootfsPath = rootfsPath;
    if (row.workdir !== null) spec.workdir = row.workdir;
    return spec;
  }
}
