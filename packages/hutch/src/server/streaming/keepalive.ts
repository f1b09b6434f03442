/**
 * Interleaves keepalive frames into a stream and stops it when a signal aborts. The source's
 * pending `next()` is never awaited twice and never left to reject unobserved; on abort the source
 * is asked to `return()` without waiting (it ends by itself once its own signal fires).
 */

type Settled<T> = { ok: true; result: IteratorResult<T> } | { ok: false; error: unknown };

export interface KeepaliveOptions<T> {
  /** Idle time before a keepalive frame is sent (ms). */
  intervalMs: number;
  keepalive: () => T;
  signal: AbortSignal;
}

/** Yields the source's items, plus `keepalive()` after each `intervalMs` without one, until the source ends or `signal` aborts. */
export async function* withKeepalive<T>(source: AsyncIterable<T>, options: KeepaliveOptions<T>): AsyncGenerator<T> {
  const { intervalMs, keepalive, signal } = options;
  const iterator = source[Symbol.asyncIterator]();
  let pending: Promise<Settled<T>> | undefined;
  try {
    for (;;) {
      if (signal.aborted) return;
      pending ??= iterator.next().then(
        (result): Settled<T> => ({ ok: true, result }),
        (error: unknown): Settled<T> => ({ ok: false, error }),
      );
      let timer: NodeJS.Timeout | undefined;
      let onAbort: (() => void) | undefined;
      const idle = new Promise<'tick' | 'abort'>((resolve) => {
        timer = setTimeout(() => resolve('tick'), intervalMs);
        onAbort = () => resolve('abort');
        signal.addEventListener('abort', onAbort, { once: true });
      });
      const winner = await Promise.race([pending, idle]);
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort!);
      if (winner === 'abort') return;
      if (winner === 'tick') {
        yield keepalive();
        continue;
      }
      pending = undefined;
      if (!winner.ok) throw winner.error;
      if (winner.result.done) return;
      yield winner.result.value;
    }
  } finally {
    if (pending) void Promise.resolve(iterator.return?.()).catch(() => undefined);
    else await iterator.return?.();
  }
}
