/**
 * Lifecycle events per sandbox: stored in a bounded ring (the newest N per sandbox) and published
 * live to subscribers. Event data is redacted by the caller: names and codes, never values.
 */
import { EventEmitter, on } from 'node:events';
import type { EventRow, Store } from './store.js';

export interface SandboxEvent {
  seq: number;
  sandboxId: string;
  type: string;
  data: Record<string, unknown>;
  at: string;
}

function toEvent(row: EventRow): SandboxEvent {
  return { seq: row.seq, sandboxId: row.sandbox_id, type: row.type, data: JSON.parse(row.data) as Record<string, unknown>, at: row.at };
}

export class EventLog {
  private readonly emitter = new EventEmitter();

  constructor(
    private readonly store: Store,
    private readonly now: () => string,
    private readonly keepPerSandbox = 500,
  ) {
    this.emitter.setMaxListeners(0);
  }

  emit(sandboxId: string, type: string, data: Record<string, unknown> = {}): SandboxEvent {
    const at = this.now();
    const seq = this.store.appendEvent({ sandbox_id: sandboxId, type, data: JSON.stringify(data), at }, this.keepPerSandbox);
    const event: SandboxEvent = { seq, sandboxId, type, data, at };
    this.emitter.emit('event', event);
    return event;
  }

  list(filter: { sandboxId?: string; afterSeq?: number; limit?: number } = {}): SandboxEvent[] {
    return this.store.events(filter).map(toEvent);
  }

  /** Stored events after `afterSeq`, then live ones, until the signal aborts. */
  async *follow(filter: { sandboxId?: string; afterSeq?: number }, signal: AbortSignal): AsyncGenerator<SandboxEvent> {
    const live = on(this.emitter, 'event', { signal });
    let last = filter.afterSeq ?? 0;
    for (const event of this.list({ ...filter, afterSeq: last, limit: 10_000 })) {
      last = event.seq;
      yield event;
    }
    try {
      for await (const [event] of live as AsyncIterable<[SandboxEvent]>) {
        if (event.seq <= last || (filter.sandboxId && event.sandboxId !== filter.sandboxId)) continue;
        last = event.seq;
        yield event;
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  }
}
