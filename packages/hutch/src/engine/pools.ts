/**
 * Warm pools: per key (backend, template, resources, network, workdir), keep `size` sandboxes
 * created and started, so that a matching create is a hand-off of a ready sandbox (its row is
 * given the caller's env, metadata and deadline) instead of a boot. Refill runs in the background,
 * one sandbox at a time; pooled sandboxes older than `maxAgeMs` are replaced; a pooled sandbox is
 * health-checked (adopt: still there and running) before hand-off. Pools never take capacity from
 * active sandboxes: refill stops when the node is full, and active creates do not count pooled ones.
 * After a hand-off the refill waits `REFILL_DELAY_MS`, so that booting the replacement does not
 * compete with the caller's first commands in the sandbox it was just given.
 */
import { HutchError } from '../domain/errors.js';
import type { NetworkPolicy, Resources, SandboxInfo } from '../domain/sandbox.js';
import type { EngineContext } from './context.js';
import { newSandboxId, poolKey, type Lifecycle, type PoolCheckout } from './lifecycle.js';
import type { AdmissionLimits, DiskProbe } from './admission.js';
import { toSandboxInfo } from './sandbox-info.js';
import type { SandboxRow } from './store.js';

export interface PoolSpec {
  backend?: string;
  template?: string;
  resources?: Resources;
  network?: NetworkPolicy;
  workdir?: string;
  /** Ready sandboxes to keep. 0 drains the pool. */
  size: number;
  /** Replace pooled sandboxes older than this (default 30 min). */
  maxAgeMs?: number;
}

export interface PoolStatus {
  key: string;
  backend: string;
  template: string | null;
  size: number;
  ready: number;
  handedOff: number;
}

interface Pool {
  spec: PoolSpec;
  row: Pick<SandboxRow, 'backend' | 'template' | 'resources' | 'network' | 'workdir'>;
  handedOff: number;
}

/** How long a refill waits after a hand-off (the caller's first exec runs meanwhile). */
export const REFILL_DELAY_MS = 150;

export class Pools implements PoolCheckout {
  private readonly pools = new Map<string, Pool>();
  private refilling: Promise<void> | undefined;
  private delayed: { timer: NodeJS.Timeout; done: Promise<void>; fire: () => void } | undefined;
  private closed = false;

  constructor(
    private readonly ctx: EngineContext,
    private readonly lifecycle: Lifecycle,
    private readonly limits: AdmissionLimits,
    private readonly diskProbe: DiskProbe,
  ) {}

  /** Sets (or replaces) a pool's target and starts refilling in the background. */
  configure(spec: PoolSpec): PoolStatus {
    const backend = this.ctx.registry.get(spec.backend).name;
    const row = { backend, template: spec.template ?? null, resources: JSON.stringify(spec.resources ?? {}), network: JSON.stringify(spec.network ?? { mode: 'none' }), workdir: spec.workdir ?? null };
    const key = poolKey(row);
    this.pools.set(key, { spec, row, handedOff: this.pools.get(key)?.handedOff ?? 0 });
    this.kick();
    return this.statusOf(key);
  }

  status(): PoolStatus[] {
    return [...this.pools.keys()].map((k) => this.statusOf(k));
  }

  private statusOf(key: string): PoolStatus {
    const pool = this.pools.get(key)!;
    return { key, backend: pool.row.backend, template: pool.row.template, size: pool.spec.size, ready: this.ready(key).length, handedOff: pool.handedOff };
  }

  private ready(key: string): SandboxRow[] {
    return this.ctx.store.listSandboxes({ states: ['running'], pool: key });
  }

  /** Hands a healthy pooled sandbox over to a caller, or returns undefined (the caller boots one). */
  async checkout(key: string, request: SandboxRow, timeoutMs: number): Promise<SandboxInfo | undefined> {
    const pool = this.pools.get(key);
    if (!pool) return undefined;
    for (const candidate of this.ready(key)) {
      const taken = await this.ctx.locks.run(candidate.id, async () => {
        const row = this.ctx.store.getSandbox(candidate.id);
        if (!row || row.pool !== key || row.state !== 'running') return undefined;
        const outcome = await this.ctx.backendOf(row).adopt(row.id, JSON.parse(row.runtime)).catch(() => ({ status: 'gone' as const, reason: 'health check failed' }));
        if (outcome.status !== 'adopted' || outcome.state !== 'running') {
          this.ctx.setState(row.id, 'failed', { failure_reason: 'warm pool health check failed', destroyed_at: this.ctx.now() });
          return undefined;
        }
        const deadlineAt = timeoutMs > 0 ? new Date(this.ctx.clock().getTime() + timeoutMs).toISOString() : null;
        this.ctx.store.updateSandbox(row.id, {
          pool: null,
          env: request.env,
          metadata: request.metadata,
          created_at: this.ctx.now(),
          deadline_at: deadlineAt,
          on_timeout: request.on_timeout,
          idempotency_key: request.idempotency_key,
          request_hash: request.request_hash,
        });
        this.lifecycle.deadlines.set(row.id, deadlineAt);
        this.ctx.events.emit(row.id, 'sandbox.created', { backend: row.backend, template: row.template, fromPool: true, envKeys: Object.keys(JSON.parse(request.env) as object).sort() });
        return toSandboxInfo(this.ctx.row(row.id));
      });
      if (taken) {
        pool.handedOff++;
        this.kickLater();
        return taken;
      }
    }
    this.kick();
    return undefined;
  }

  /** Starts a refill pass unless one runs already. */
  kick(): void {
    if (this.closed || this.refilling) return;
    this.refilling = this.refill().finally(() => {
      this.refilling = undefined;
    });
  }

  /** Starts a refill pass after `REFILL_DELAY_MS` (once, however many hand-offs happen meanwhile). */
  private kickLater(): void {
    if (this.closed || this.delayed) return;
    let fire = () => undefined as void;
    const done = new Promise<void>((resolve) => {
      fire = () => {
        clearTimeout(this.delayed?.timer);
        this.delayed = undefined;
        this.kick();
        resolve();
      };
    });
    this.delayed = { timer: setTimeout(() => fire(), REFILL_DELAY_MS), done, fire };
  }

  /** Waits for a pending delayed refill and the current refill pass (tests and benchmarks use it). */
  async settled(): Promise<void> {
    while (this.delayed || this.refilling) {
      if (this.delayed) await this.delayed.done;
      if (this.refilling) await this.refilling;
    }
  }

  private async refill(): Promise<void> {
    for (const [key, pool] of this.pools) {
      const maxAgeMs = pool.spec.maxAgeMs ?? 30 * 60_000;
      const cutoff = new Date(this.ctx.clock().getTime() - maxAgeMs).toISOString();
      const ready = this.ready(key);
      const surplus = ready.slice(pool.spec.size);
      for (const row of [...surplus, ...ready.slice(0, pool.spec.size).filter((r) => r.created_at < cutoff)]) {
        await this.lifecycle.destroy(row.id, 'warm pool eviction').catch(() => undefined);
      }
      while (!this.closed && this.ready(key).length < pool.spec.size && this.hasRoom()) {
        const row: SandboxRow = {
          ...pool.row,
          id: newSandboxId(),
          state: 'creating',
          failure_reason: null,
          env: '{}',
          exec_user: null,
          metadata: '{}',
          runtime: '{}',
          created_at: this.ctx.now(),
          deadline_at: null,
          on_timeout: 'destroy',
          destroyed_at: null,
          idempotency_key: null,
          request_hash: null,
          pool: key,
        };
        try {
          const template = pool.row.template !== null ? await this.lifecycle.templateFor(pool.row.template) : undefined;
          if (template) {
            row.env = JSON.stringify(template.env);
            row.workdir = pool.row.workdir ?? template.workdir ?? null; // the key keeps the requested workdir
            row.exec_user = template.user ?? null;
          }
          await this.lifecycle.launch(row, this.ctx.registry.get(pool.row.backend), template, 0);
        } catch (err) {
          this.ctx.logger.warn({ pool: key, code: err instanceof HutchError ? err.code : 'internal' }, 'warm pool refill failed');
          break;
        }
      }
    }
  }

  /** Room for one more pooled sandbox: under the sandbox limit and well above the disk floor. */
  private hasRoom(): boolean {
    if (this.diskProbe() < this.limits.diskFloorBytes * 2) return false;
    return this.ctx.store.listSandboxes({ states: ['creating', 'running', 'paused', 'stopped'], pool: 'any' }).length < this.limits.maxSandboxes;
  }

  /** Stops refilling; pooled sandboxes stay for the next engine to adopt. */
  async stop(): Promise<void> {
    this.closed = true;
    this.delayed?.fire();
    await this.settled();
  }

  /** Stops refilling and destroys every pooled sandbox. */
  async drain(): Promise<void> {
    this.closed = true;
    this.delayed?.fire();
    await this.settled();
    for (const row of this.ctx.store.listSandboxes({ states: ['creating', 'running', 'paused', 'stopped'], pool: 'any' }).filter((r) => r.pool !== null)) {
      await this.lifecycle.destroy(row.id, 'warm pool drained').catch(() => undefined);
    }
  }
}
