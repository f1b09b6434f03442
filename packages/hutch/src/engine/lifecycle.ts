/**
 * Sandbox lifecycle: create (admission, capability match, idempotency), start, stop, pause,
 * resume, destroy, deadlines. Every backend call is journaled (intent → result) and every state
 * change emits an event. One lifecycle operation at a time per sandbox.
 */
import { randomBytes } from 'node:crypto';
import { BadRequestError, ConflictError, HutchError, SandboxNotFoundError } from '../domain/errors.js';
import type { RuntimeRecord, SandboxInfo, SandboxSecret, SandboxSpec } from '../domain/sandbox.js';
import type { WorkspaceRequest } from '../domain/workspace.js';
import { assertTransition, isLive, type SandboxState } from '../domain/sandbox-state.js';
import type { IsolationBackend } from '../port/isolation-backend.js';
import { admit, type AdmissionLimits, type DiskProbe } from './admission.js';
import type { EngineContext } from './context.js';
import { canonicalJson, requestHash, validateCreateRequest, type CreateSandboxRequest } from './create-request.js';
import { DeadlineKeeper } from './deadlines.js';
import { envKeys } from './redact.js';
import { assertNeeds, sandboxNeeds } from './requirements.js';
import { toSandboxInfo } from './sandbox-info.js';
import type { SandboxRow } from './store.js';
import type { WorkspaceProvider } from './workspaces.js';

/** What a template contributes to a sandbox. `rootfsPath` is a host path and never shown. */
export interface ResolvedTemplate {
  name: string;
  rootfsPath: string;
  env: Record<string, string>;
  workdir?: string;
  /** Default user of commands. */
  user?: string;
  /** Started detached once the sandbox runs. */
  startCommand?: string;
  /** Must exit 0 (retried until `readyTimeoutMs`) before the sandbox is reported running. */
  readyCommand?: string;
  readyTimeoutMs?: number;
}

/** Resolves a template name (building or fetching it if needed); throws `not_found` for unknown ones. */
export interface TemplateResolver {
  resolve(name: string): Promise<ResolvedTemplate>;
}

/** Prepares a sandbox from something other than a template (a snapshot restore). */
export type Prepare = (backend: IsolationBackend, spec: SandboxSpec) => Promise<RuntimeRecord>;

/** The warm pool, as the lifecycle sees it (see pools.ts). */
export interface PoolCheckout {
  checkout(key: string, row: SandboxRow, timeoutMs: number): Promise<SandboxInfo | undefined>;
}

/** Sandboxes with equal keys are interchangeable before hand-off. */
export function poolKey(row: Pick<SandboxRow, 'backend' | 'template' | 'resources' | 'network' | 'workdir'>): string {
  return canonicalJson({ backend: row.backend, template: row.template, resources: JSON.parse(row.resources), network: JSON.parse(row.network), workdir: row.workdir });
}

export interface LifecycleOptions {
  limits: AdmissionLimits;
  diskProbe: DiskProbe;
  defaultTimeoutMs: number;
  templates?: TemplateResolver;
  /** Template used when a request names none, per backend (tiers without a host-root mode). */
  defaultTemplates?: Record<string, string>;
  /** Codebases mounted as workspaces (`request.workspace`). */
  workspaces?: WorkspaceProvider;
}

/** `sbx` + 17 base36 characters: DNS-label safe, so it fits `<port>-<id>.<domain>` hosts. */
export function newSandboxId(): string {
  const bytes = randomBytes(17);
  let id = 'sbx';
  for (let i = 0; id.length < 20; i++) id += (bytes[i]! % 36).toString(36);
  return id;
}

export class Lifecycle {
  readonly deadlines: DeadlineKeeper;
  /** Hooks run when a sandbox stops existing (sessions, port routes...). */
  readonly onGone: Array<(sandboxId: string) => void> = [];
  /** Hooks run once a sandbox from a template runs (its start and ready commands). */
  readonly onTemplateStart: Array<(sandboxId: string, template: ResolvedTemplate) => Promise<void>> = [];
  /** Set by the engine when warm pools are configured. */
  pool: PoolCheckout | undefined;
  /** Secrets of creates in flight, by sandbox id: handed to the backend once, never stored. */
  private readonly pendingSecrets = new Map<string, SandboxSecret[]>();

  constructor(
    private readonly ctx: EngineContext,
    private readonly options: LifecycleOptions,
  ) {
    this.deadlines = new DeadlineKeeper((id) => void this.expire(id), () => ctx.clock().getTime());
  }

  async create(request: CreateSandboxRequest, prepare?: Prepare): Promise<SandboxInfo> {
    validateCreateRequest(request);
    const hash = requestHash(request);
    if (request.idempotencyKey) {
      const existing = this.ctx.store.sandboxByIdempotencyKey(request.idempotencyKey);
      if (existing) {
        if (existing.request_hash !== hash) throw new ConflictError('This idempotency key was already used for a different create request. Use a new key.', { idempotencyKey: request.idempotencyKey });
        return toSandboxInfo(existing);
      }
    }
    const backend = this.ctx.registry.get(request.backend);
    const defaultTemplate = this.options.defaultTemplates?.[backend.name];
    if (request.template === undefined && defaultTemplate !== undefined) request = { ...request, template: defaultTemplate };
    const network = request.network ?? { mode: 'none' as const };
    const resources = request.resources ?? {};
    assertNeeds(backend.name, await this.ctx.report(backend), sandboxNeeds({ resources, network, template: request.template }));
    if (request.workspace) {
      assertNeeds(backend.name, await this.ctx.report(backend), [['workspaces', 'mount a codebase as a workspace']]);
      if (!this.options.workspaces) throw new BadRequestError('This server has no codebase store, so a sandbox cannot have a workspace.', { field: 'workspace' });
      await this.options.workspaces.codebases.get(request.workspace.codebase);
    }
    const template = request.template !== undefined ? await this.templateFor(request.template) : undefined;
    const live = this.ctx.store.listSandboxes({ states: ['creating', 'running', 'paused', 'stopped'] });
    admit(this.options.limits, live.map((r) => JSON.parse(r.resources)), resources, this.options.diskProbe());

    const timeoutMs = request.timeoutMs ?? this.options.defaultTimeoutMs;
    const row: SandboxRow = {
      id: newSandboxId(),
      backend: backend.name,
      template: request.template ?? null,
      state: 'creating',
      failure_reason: null,
      resources: JSON.stringify(resources),
      network: JSON.stringify(network),
      workdir: request.workdir ?? template?.workdir ?? null,
      env: JSON.stringify({ ...template?.env, ...request.env }),
      exec_user: template?.user ?? null,
      metadata: JSON.stringify(request.metadata ?? {}),
      runtime: '{}',
      created_at: this.ctx.now(),
      deadline_at: null,
      on_timeout: request.onTimeout ?? 'destroy',
      destroyed_at: null,
      idempotency_key: request.idempotencyKey ?? null,
      request_hash: hash,
      pool: null,
    };
    if (request.secrets?.length) this.pendingSecrets.set(row.id, request.secrets);
    if (!prepare && this.pool && !request.workspace && !request.secrets?.length) {
      const handed = await this.pool.checkout(poolKey({ ...row, workdir: request.workdir ?? null }), row, timeoutMs);
      if (handed) return handed;
    }
    return this.launch(row, backend, template, timeoutMs, prepare, request.workspace);
  }

  /**
   * Inserts `row` and brings the sandbox up: backend create (or `prepare`, for a restore), start,
   * the template's start and ready commands, then `running` with its deadline. On any failure the
   * backend's leftovers are reclaimed and the sandbox is recorded `failed`.
   */
  async launch(row: SandboxRow, backend: IsolationBackend, template: ResolvedTemplate | undefined, timeoutMs: number, prepare?: Prepare, workspace?: WorkspaceRequest): Promise<SandboxInfo> {
    const id = row.id;
    this.ctx.store.insertSandbox(row);
    return this.ctx.locks.run(id, async () => {
      const spec = this.ctx.specOf(row, template?.rootfsPath);
      const secrets = this.pendingSecrets.get(id);
      this.pendingSecrets.delete(id);
      if (secrets) spec.secrets = secrets;
      const env = JSON.parse(row.env) as Record<string, string>;
      try {
        if (workspace) spec.workspace = await this.options.workspaces!.prepare(id, workspace);
        const summary = { backend: backend.name, template: row.template, resources: JSON.parse(row.resources), network: spec.network.mode, envKeys: envKeys(env), ...(secrets ? { secretNames: secrets.map((s) => s.name) } : {}), ...(row.pool ? { pool: true } : {}) };
        const record = await this.ctx.journal.effect({ sandboxId: id, effect: prepare ? 'restore' : 'create', summary, ...(row.idempotency_key ? { idempotencyKey: row.idempotency_key } : {}) }, () =>
          prepare ? prepare(backend, spec) : backend.create(spec),
        );
        this.ctx.saveRuntime(id, record);
        const started = await this.ctx.journal.effect({ sandboxId: id, effect: 'start', summary: {} }, () => backend.start(id));
        this.ctx.saveRuntime(id, started);
        this.ctx.setState(id, 'running');
        if (template) for (const hook of this.onTemplateStart) await hook(id, template);
        const deadlineAt = row.pool === null && timeoutMs > 0 ? new Date(this.ctx.clock().getTime() + timeoutMs).toISOString() : null;
        this.ctx.setState(id, 'running', { deadline_at: deadlineAt });
        this.deadlines.set(id, deadlineAt);
        this.ctx.events.emit(id, row.pool ? 'sandbox.pooled' : 'sandbox.created', { backend: backend.name, template: row.template, envKeys: envKeys(env) });
      } catch (err) {
        await this.failCreate(backend, id, err);
        throw err;
      }
      return toSandboxInfo(this.ctx.row(id));
    });
  }

  /** Resolves a template by name (throws if this server has no template store). */
  async templateFor(name: string): Promise<ResolvedTemplate> {
    if (!this.options.templates) throw new BadRequestError(`Unknown template "${name}": this server has no template store.`, { template: name });
    return this.options.templates.resolve(name);
  }

  /** A create that failed half-way: reclaim whatever the backend made, then record `failed`. */
  private async failCreate(backend: IsolationBackend, id: string, err: unknown): Promise<void> {
    const code = err instanceof HutchError ? err.code : 'internal';
    await this.releaseWorkspace(id);
    try {
      await this.ctx.journal.effect({ sandboxId: id, effect: 'reclaim', summary: { after: 'failed create' } }, () => backend.reclaim(id, JSON.parse(this.ctx.row(id).runtime)));
    } catch (reclaimError) {
      this.ctx.logger.error({ sandboxId: id, code: reclaimError instanceof HutchError ? reclaimError.code : 'internal' }, 'reclaim after failed create failed');
    }
    this.ctx.setState(id, 'failed', { failure_reason: `create failed: ${code}`, destroyed_at: this.ctx.now() });
    this.ctx.events.emit(id, 'sandbox.failed', { reason: `create failed: ${code}` });
    this.ctx.logger.warn({ sandboxId: id, code }, 'sandbox create failed');
  }

  get(id: string): SandboxInfo {
    return toSandboxInfo(this.ctx.row(id));
  }

  /** Unmounts and removes a sandbox's workspace, if it has one; false when a mount stayed. */
  private async releaseWorkspace(id: string): Promise<boolean> {
    if (!this.options.workspaces) return true;
    try {
      return await this.options.workspaces.release(id);
    } catch (err) {
      this.ctx.logger.error({ sandboxId: id, code: err instanceof HutchError ? err.code : 'internal' }, 'workspace release failed');
      return false;
    }
  }

  /** Runs a state change under the sandbox's lock, journaled, and records the new state. */
  private async transition(id: string, to: SandboxState, verb: string, call: (backend: IsolationBackend, row: SandboxRow) => Promise<RuntimeRecord | void>): Promise<SandboxInfo> {
    return this.ctx.locks.run(id, async () => {
      const row = this.ctx.row(id);
      assertTransition(row.state as SandboxState, to, verb);
      const backend = this.ctx.backendOf(row);
      const record = await this.ctx.journal.effect({ sandboxId: id, effect: verb as 'pause', summary: { from: row.state } }, () => call(backend, row));
      if (record) this.ctx.saveRuntime(id, record);
      this.ctx.setState(id, to);
      this.ctx.events.emit(id, `sandbox.${to}`, { from: row.state });
      return this.get(id);
    });
  }

  pause(id: string): Promise<SandboxInfo> {
    return this.transition(id, 'paused', 'pause', (b) => b.pause(id));
  }

  resume(id: string): Promise<SandboxInfo> {
    return this.transition(id, 'running', 'resume', async (b, row) => {
      if (row.state === 'stopped') return b.start(id);
      await b.resume(id);
    });
  }

  stop(id: string): Promise<SandboxInfo> {
    return this.transition(id, 'stopped', 'stop', (b) => b.stop(id)).then((info) => {
      this.ctx.store.endRunningProcesses('signaled', id);
      return info;
    });
  }

  start(id: string): Promise<SandboxInfo> {
    return this.transition(id, 'running', 'start', (b) => b.start(id));
  }

  /** Destroys a sandbox in any live state. Idempotent on a tombstone. */
  async destroy(id: string, reason = 'requested'): Promise<SandboxInfo> {
    return this.ctx.locks.run(id, async () => {
      const row = this.ctx.row(id);
      if (!isLive(row.state as SandboxState)) {
        if (row.state === 'destroyed') return toSandboxInfo(row);
      }
      assertTransition(row.state as SandboxState, 'destroyed', 'destroy');
      const backend = this.ctx.backendOf(row);
      let status = 'completed';
      if (row.state !== 'failed') {
        const result = await this.ctx.journal.effect({ sandboxId: id, effect: 'destroy', summary: { from: row.state, reason } }, () =>
          backend.destroy(id).catch((err: unknown) => {
            if (err instanceof SandboxNotFoundError) return { status: 'completed' as const, summary: 'already gone' };
            throw err;
          }),
        );
        status = result.status;
      }
      if (!(await this.releaseWorkspace(id))) status = 'repair_needed';
      this.deadlines.clear(id);
      this.ctx.store.endRunningProcesses('sandbox_destroyed', id);
      this.ctx.setState(id, 'destroyed', { destroyed_at: this.ctx.now(), deadline_at: null });
      this.ctx.events.emit(id, 'sandbox.destroyed', { reason, cleanup: status });
      for (const hook of this.onGone) hook(id);
      return this.get(id);
    });
  }

  /** Moves the deadline to now + timeoutMs (0 clears it). Running, paused or stopped only. */
  async setTimeout(id: string, timeoutMs: number): Promise<SandboxInfo> {
    validateCreateRequest({ timeoutMs });
    return this.ctx.locks.run(id, async () => {
      const row = this.ctx.row(id);
      if (!isLive(row.state as SandboxState)) assertTransition(row.state as SandboxState, 'running', 'set the timeout of');
      const deadlineAt = timeoutMs > 0 ? new Date(this.ctx.clock().getTime() + timeoutMs).toISOString() : null;
      this.ctx.store.updateSandbox(id, { deadline_at: deadlineAt });
      this.deadlines.set(id, deadlineAt);
      this.ctx.events.emit(id, 'sandbox.timeout_set', { timeoutMs });
      return this.get(id);
    });
  }

  /** The deadline passed: pause if asked and possible, otherwise destroy. */
  private async expire(id: string): Promise<void> {
    const row = this.ctx.store.getSandbox(id);
    if (!row || !isLive(row.state as SandboxState)) return;
    this.ctx.events.emit(id, 'sandbox.expired', { onTimeout: row.on_timeout });
    try {
      if (row.on_timeout === 'pause' && row.state === 'running') {
        await this.pause(id);
        await this.ctx.locks.run(id, async () => this.ctx.store.updateSandbox(id, { deadline_at: null }));
      } else if (row.on_timeout !== 'pause' || row.state === 'creating') await this.destroy(id, 'timeout');
    } catch (err) {
      this.ctx.logger.error({ sandboxId: id, code: err instanceof HutchError ? err.code : 'internal' }, 'deadline action failed');
    }
  }
}
