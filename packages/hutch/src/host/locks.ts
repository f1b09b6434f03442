/** Per-key serialisation of async operations (one lifecycle operation per sandbox at a time). */

/** Runs `fn` after every earlier operation locked on `key` in `locks` has settled. */
export async function withKeyLock<T>(locks: Map<string, Promise<unknown>>, key: string, fn: () => Promise<T>): Promise<T> {
  const previous = locks.get(key) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(fn);
  locks.set(key, next);
  try {
    return await next;
  } finally {
    if (locks.get(key) === next) locks.delete(key);
  }
}
