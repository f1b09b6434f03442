/**
 * An ordered, bounded log of one process's output that many readers can follow at once.
 * Backends append chunks as they arrive; `read(fromSeq)` replays what is buffered from `fromSeq` and
 * then follows live output until the process ends, so a client can reattach after a disconnect.
 * When more than `maxBytes` are buffered, the oldest chunks are dropped (a late reader starts at the
 * oldest chunk still held).
 */
import type { OutputChunk, OutputStream } from '../domain/process.js';

export class OutputLog {
  private chunks: OutputChunk[] = [];
  private bufferedBytes = 0;
  private nextSeq = 1;
  private ended = false;
  private waiters: Array<() => void> = [];

  constructor(private readonly maxBytes = 8 * 1024 * 1024) {}

  /** Appends a chunk; ignored after `end()`. */
  append(stream: OutputStream, data: Uint8Array): void {
    if (this.ended || data.length === 0) return;
    this.chunks.push({ seq: this.nextSeq++, stream, data });
    this.bufferedBytes += data.length;
    while (this.bufferedBytes > this.maxBytes && this.chunks.length > 1) {
      this.bufferedBytes -= this.chunks.shift()!.data.length;
    }
    this.wake();
  }

  /** Marks the end of output: readers finish once they have consumed what is buffered. */
  end(): void {
    this.ended = true;
    this.wake();
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Sequence number the next chunk will get. */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** All buffered output of one stream, concatenated. */
  collect(stream: OutputStream): Buffer {
    return Buffer.concat(this.chunks.filter((c) => c.stream === stream).map((c) => c.data));
  }

  /** Yields chunks with `seq >= fromSeq`, then live chunks, until the end. `break` stops following. */
  async *read(fromSeq = 1, signal?: AbortSignal): AsyncGenerator<OutputChunk> {
    let next = fromSeq;
    for (;;) {
      signal?.throwIfAborted();
      const pending = this.chunks.filter((c) => c.seq >= next);
      for (const chunk of pending) {
        next = chunk.seq + 1;
        yield chunk;
      }
      if (this.ended && next > this.lastSeq) return;
      if (next <= this.lastSeq) continue;
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(signal!.reason);
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiters.push(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
