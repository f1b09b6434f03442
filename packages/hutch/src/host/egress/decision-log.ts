/**
 * The bounded per-sandbox ring of egress decisions, with followers for live streams. Decisions
 * carry names, addresses, verdicts and secret names, never secret values.
 */
import type { NetworkDecision } from '../../domain/sandbox.js';

export class DecisionLog {
  private readonly ring: NetworkDecision[] = [];
  private seq = 0;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly capacity = 1000) {}

  append(d: Omit<NetworkDecision, 'seq' | 'at'>): NetworkDecision {
    const full: NetworkDecision = { seq: ++this.seq, at: new Date().toISOString(), ...d };
    this.ring.push(full);
    if (this.ring.length > this.capacity) this.ring.splice(0, this.ring.length - this.capacity);
    for (const wake of this.waiters) wake();
    this.waiters.clear();
    return full;
  }

  list(afterSeq = 0, limit = this.capacity): NetworkDecision[] {
    return this.ring.filter((d) => d.seq > afterSeq).slice(0, limit);
  }

  /** Stored decisions after `afterSeq`, then live ones until the signal aborts. */
  async *follow(afterSeq: number, signal: AbortSignal): AsyncGenerator<NetworkDecision> {
    let last = afterSeq;
    while (!signal.aborted) {
      for (const d of this.list(last)) {
        last = d.seq;
        yield d;
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done);
          this.waiters.delete(done);
          resolve();
        };
        this.waiters.add(done);
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }
}
