/**
 * NDJSON reader: turns a response body (one JSON value per line) into an async iterator of values.
 * The reader is released in `finally`, so a consumer's `break` or an abort cancels the body and
 * closes the connection. A line that is not JSON throws `ProtocolError`; nothing is skipped.
 */
import { ProtocolError } from './errors.js';

/** Options of `parseNdjson`. */
export interface NdjsonOptions {
  /** Stops reading; the iterator rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** Yields each JSON line of `body`, in order. Blank lines are ignored; a final unterminated line is parsed. */
export async function* parseNdjson<T>(body: ReadableStream<Uint8Array>, options: NdjsonOptions = {}): AsyncGenerator<T, void, undefined> {
  const { signal } = options;
  signal?.throwIfAborted();
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let lineNo = 0;
  let finished = false;
  const onAbort = (): void => {
    void reader.cancel(signal?.reason).catch(ignoreCancelFailure);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const { value, done } = await reader.read();
      signal?.throwIfAborted();
      if (done) {
        finished = true;
        buffer += decoder.decode();
        break;
      }
      buffer += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        lineNo++;
        const parsed = parseLine<T>(line, lineNo);
        if (parsed.ok) yield parsed.value;
      }
    }
    lineNo++;
    const last = parseLine<T>(buffer, lineNo);
    if (last.ok) yield last.value;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (!finished) await reader.cancel().catch(ignoreCancelFailure);
    reader.releaseLock();
  }
}

function parseLine<T>(raw: string, lineNo: number): { ok: true; value: T } | { ok: false } {
  const line = raw.trim();
  if (line === '') return { ok: false };
  try {
    return { ok: true, value: JSON.parse(line) as T };
  } catch (err) {
    throw new ProtocolError(`The server sent a stream line that is not JSON (line ${lineNo}: ${line.slice(0, 80)}).`, { cause: err });
  }
}

// Cancelling a body that already failed or closed rejects; there is nothing left to release then.
function ignoreCancelFailure(): void {}
