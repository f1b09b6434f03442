/**
 * `sandbox.files`: read and write files (streamed both ways), list, stat, make directories, move,
 * remove and watch, confined to the sandbox (paths that escape it fail with `path_escape`).
 */
import type { FileEntry, FileEvent } from '@hutch/protocol';
import type { CallOptions } from './connection-config.js';
import { errorFromFrame, HutchApiError } from './errors.js';
import type { StreamControlFrame } from './frames.js';
import type { HttpClient } from './http-client.js';

/** What `files.write` accepts: text (UTF-8), bytes, a web stream or any async iterable of chunks (e.g. a Node stream). */
export type WriteData = string | Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array | string>;

/** Options of `files.write`. */
export interface WriteOptions extends CallOptions {
  /** Permission bits of a new file (e.g. `0o755`). */
  mode?: number;
}

/** Options of `files.read`: `text` (default, UTF-8), `bytes` or `stream` (a web `ReadableStream`). */
export interface ReadOptions extends CallOptions {
  format?: 'text' | 'bytes' | 'stream';
}

/** Options of `files.watch`. */
export interface WatchOptions extends CallOptions {
  /** Also report changes in subdirectories (default true). */
  recursive?: boolean;
}

export class Filesystem {
  /** @internal Use `sandbox.files`. */
  constructor(
    private readonly http: HttpClient,
    private readonly sandboxPath: string,
  ) {}

  /** Reads a file. Throws `NotFoundError` (`file_not_found`) when it does not exist. */
  read(path: string, options?: ReadOptions & { format?: 'text' }): Promise<string>;
  read(path: string, options: ReadOptions & { format: 'bytes' }): Promise<Uint8Array>;
  read(path: string, options: ReadOptions & { format: 'stream' }): Promise<ReadableStream<Uint8Array>>;
  async read(path: string, options: ReadOptions = {}): Promise<string | Uint8Array | ReadableStream<Uint8Array>> {
    const response = await this.http.stream({ method: 'GET', path: `${this.sandboxPath}/files`, query: { path }, headers: { accept: 'application/octet-stream' } }, options);
    if (options.format === 'stream') return response.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
    const bytes = new Uint8Array(await response.arrayBuffer());
    return options.format === 'bytes' ? bytes : new TextDecoder().decode(bytes);
  }

  /**
   * Writes a file, creating parent directories, replacing what was there. Streams and async
   * iterables are uploaded as they are read (no timeout unless `requestTimeoutMs` is given).
   */
  async write(path: string, data: WriteData, options: WriteOptions = {}): Promise<FileEntry> {
    const body = typeof data === 'string' ? new TextEncoder().encode(data) : data instanceof Uint8Array || data instanceof ReadableStream ? data : toReadableStream(data);
    const streaming = body instanceof ReadableStream;
    const callOptions: CallOptions = streaming && options.requestTimeoutMs === undefined ? { ...options, requestTimeoutMs: 0 } : options;
    const query = options.mode === undefined ? { path } : { path, mode: options.mode.toString(8).padStart(3, '0') };
    return this.http.json<FileEntry>({ method: 'PUT', path: `${this.sandboxPath}/files`, query, body }, callOptions);
  }

  /** Entries of a directory; `depth` > 1 descends into subdirectories (default 1). */
  async list(path: string, options: CallOptions & { depth?: number } = {}): Promise<FileEntry[]> {
    return this.http.json<FileEntry[]>({ method: 'GET', path: `${this.sandboxPath}/files/list`, query: { path, depth: options.depth } }, options);
  }

  /** Metadata of one path (symlinks are not followed). Throws `NotFoundError` (`file_not_found`). */
  async stat(path: string, options: CallOptions = {}): Promise<FileEntry> {
    return this.http.json<FileEntry>({ method: 'GET', path: `${this.sandboxPath}/files/stat`, query: { path } }, options);
  }

  /** True when the path exists. */
  async exists(path: string, options: CallOptions = {}): Promise<boolean> {
    try {
      await this.stat(path, options);
      return true;
    } catch (err) {
      if (err instanceof HutchApiError && err.code === 'file_not_found') return false;
      throw err;
    }
  }

  /** Creates a directory (and its parents unless `parents: false`). */
  async makeDir(path: string, options: CallOptions & { parents?: boolean } = {}): Promise<FileEntry> {
    return this.http.json<FileEntry>({ method: 'POST', path: `${this.sandboxPath}/files/mkdir`, json: { path, parents: options.parents ?? true } }, options);
  }

  /** Moves (renames) a file or directory. */
  async move(from: string, to: string, options: CallOptions = {}): Promise<FileEntry> {
    return this.http.json<FileEntry>({ method: 'POST', path: `${this.sandboxPath}/files/move`, json: { from, to } }, options);
  }

  /** Removes a file, or a directory with `recursive: true`. */
  async remove(path: string, options: CallOptions & { recursive?: boolean } = {}): Promise<void> {
    await this.http.json({ method: 'DELETE', path: `${this.sandboxPath}/files`, query: { path, recursive: options.recursive ? true : undefined } }, options);
  }

  /** Yields changes under `path` until the loop breaks or `signal` aborts. */
  async *watch(path: string, options: WatchOptions = {}): AsyncGenerator<FileEvent, void, undefined> {
    const frames = this.http.ndjson<FileEvent | StreamControlFrame>({ method: 'GET', path: `${this.sandboxPath}/files/watch`, query: { path, recursive: options.recursive ?? true } }, options);
    for await (const frame of frames) {
      if (frame.type === 'error') throw errorFromFrame(frame);
      if (frame.type !== 'keepalive') yield frame as FileEvent;
    }
  }
}

/** Adapts an async iterable of chunks to a web stream (pulled on demand, cancelled upstream). */
export function toReadableStream(source: AsyncIterable<Uint8Array | string>): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await iterator.next();
      if (done) controller.close();
      else controller.enqueue(typeof value === 'string' ? encoder.encode(value) : value);
    },
    async cancel(reason) {
      await iterator.return?.(reason);
    },
  });
}
