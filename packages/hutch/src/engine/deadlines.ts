/**
 * Deadlines: one timer per sandbox that fires `onExpire` when its deadline passes. Timers are
 * unref'd (they never keep the process alive on their own) and re-armed from the store on start.
 */
export class DeadlineKeeper {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly onExpire: (sandboxId: string) => void,
    private readonly nowMs: () => number,
  ) {}

  /** Arms (or re-arms) the timer; `deadlineAt` null clears it. */
  set(sandboxId: string, deadlineAt: string | null): void {
    this.clear(sandboxId);
    if (deadlineAt === null) return;
    // setTimeout's limit is 2^31-1 ms (~24.8 days); longer deadlines re-arm on the way.
    const delay = Math.min(Math.max(0, Date.parse(deadlineAt) - this.nowMs()), 2 ** 31 - 1);
    const timer = setTimeout(() => {
      this.timers.delete(sandboxId);
      if (Date.parse(deadlineAt) <= this.nowMs()) this.onExpire(sandboxId);
      else this.set(sandboxId, deadlineAt);
    }, delay);
    timer.unref();
    this.timers.set(sandboxId, timer);
  }

  clear(sandboxId: string): void {
    const timer = this.timers.get(sandboxId);
    if (timer) clearTimeout(timer);
    this.timers.delete(sandboxId);
  }

  clearAll(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
