/**
 * The journal: every side effect appends an `intent` before the backend is called and a `result`
 * after. If the intent cannot be written, the effect is not attempted (`JournalUnavailableError`).
 * If the result cannot be written, the outcome is unknown to a future replay: the caller gets
 * `RepairNeededError`. On start the engine marks intents without an outcome as `repair`.
 * Summaries are redacted by the caller (see redact.ts); this module stores them as given.
 */
import { randomUUID } from 'node:crypto';
import { HutchError, JournalUnavailableError, RepairNeededError } from '../domain/errors.js';
import type { JournalRow, Store } from './store.js';

export type EffectName =
  | 'network'
  | 'create'
  | 'start'
  | 'stop'
  | 'pause'
  | 'resume'
  | 'destroy'
  | 'exec'
  | 'signal'
  | 'snapshot'
  | 'restore'
  | 'delete_snapshot'
  | 'reclaim'
  | 'adopt';

export interface JournalRecord {
  seq: number;
  effectId: string;
  sandboxId: string | null;
  effect: string;
  phase: 'intent' | 'result' | 'repair';
  idempotencyKey: string | null;
  summary: Record<string, unknown>;
  at: string;
}

export function toJournalRecord(row: JournalRow): JournalRecord {
  return {
    seq: row.seq,
    effectId: row.effect_id,
    sandboxId: row.sandbox_id,
    effect: row.effect,
    phase: row.phase,
    idempotencyKey: row.idempotency_key,
    summary: JSON.parse(row.summary) as Record<string, unknown>,
    at: row.at,
  };
}

export interface EffectRequest<T> {
  sandboxId: string | null;
  effect: EffectName;
  /** Redacted description of the intent. */
  summary: Record<string, unknown>;
  idempotencyKey?: string;
  /** Redacted description of a successful outcome (default `{ ok: true }`). */
  describe?: (value: T) => Record<string, unknown>;
}

export class Journal {
  constructor(
    private readonly store: Store,
    private readonly now: () => string,
  ) {}

  /** Runs `action` between an intent and a result record. */
  async effect<T>(request: EffectRequest<T>, action: () => Promise<T>): Promise<T> {
    const effectId = randomUUID();
    const base = { effect_id: effectId, sandbox_id: request.sandboxId, effect: request.effect, idempotency_key: request.idempotencyKey ?? null };
    try {
      this.store.appendJournal({ ...base, phase: 'intent', summary: JSON.stringify(request.summary), at: this.now() });
    } catch (cause) {
      throw new JournalUnavailableError({ cause });
    }
    let value: T;
    try {
      value = await action();
    } catch (err) {
      const code = err instanceof HutchError ? err.code : 'internal';
      this.appendOutcome(base, 'result', { ok: false, code }, request.effect);
      throw err;
    }
    this.appendOutcome(base, 'result', { ok: true, ...request.describe?.(value) }, request.effect);
    return value;
  }

  /** Marks an intent whose outcome was never recorded. */
  markRepair(intent: JournalRow, reason: string): void {
    this.store.appendJournal({
      effect_id: intent.effect_id,
      sandbox_id: intent.sandbox_id,
      effect: intent.effect,
      phase: 'repair',
      idempotency_key: intent.idempotency_key,
      summary: JSON.stringify({ status: 'repair_needed', reason }),
      at: this.now(),
    });
  }

  private appendOutcome(base: Omit<JournalRow, 'seq' | 'phase' | 'summary' | 'at'>, phase: 'result', summary: Record<string, unknown>, effect: string): void {
    try {
      this.store.appendJournal({ ...base, phase, summary: JSON.stringify(summary), at: this.now() });
    } catch {
      throw new RepairNeededError(`The outcome of "${effect}" could not be recorded; the next start will mark it for repair.`, { effect, effectId: base.effect_id });
    }
  }

  records(filter: { sandboxId?: string; afterSeq?: number; limit?: number } = {}): JournalRecord[] {
    return this.store.journal(filter).map(toJournalRecord);
  }
}
