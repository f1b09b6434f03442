/**
 * `Codebases`: the server's codebase store (docs/workspaces.md). Upload a tree as a tar archive,
 * list, describe and delete codebases, and read, write, list and remove their files (paths stay
 * inside the codebase: `..` is refused with `path_escape`). A sandbox sees a codebase through
 * `Sandbox.create({ workspace: { codebase } })`; its changes come back with `sandbox.workspace`.
 *
 *   const info = await Codebases.upload('app', tarBytes);
 *   const sandbox = await Sandbox.create({ workspace: { codebase: 'app', rules: [{ pattern: 'src/', level: 'write' }] } });
 *
 * Unknown codebases fail with `NotFoundError` (`codebase_not_found`); a server without a codebase
 * store answers `capability_missing`.
 */
import type { CodebaseInfo, FileEntry } from '@hutch/protocol';
import { ConnectionConfig, type CallOptions, type ConnectionOptions } from './connection-config.js';
import { toReadableStream, type WriteData } from './filesystem.js';
import { HttpClient } from './http-client.js';

type Options = ConnectionOptions & CallOptions;

/** Options of `Codebases.readFile`: `text` (default, UTF-8), `bytes` or `stream`. */
export interface CodebaseReadOptions extends Options {
  format?: 'text' | 'bytes' | 'stream';
}

function http(options: ConnectionOptions): HttpClient {
  return new HttpClient(new ConnectionConfig(options));
}

function codebasePath(codebase: string): string {
  if (!codebase) throw new TypeError('A codebase id or name is required.');
  return `/v1/codebases/${encodeURIComponent(codebase)}`;
}

/** Bytes or a web stream for a raw body; streamed uploads get no request timeout unless one is set. */
function rawBody(data: WriteData, options: Options): { body: Uint8Array | ReadableStream<Uint8Array>; callOptions: Options } {
  const body = typeof data === 'string' ? new TextEncoder().encode(data) : data instanceof Uint8Array || data instanceof ReadableStream ? data : toReadableStream(data);
  const callOptions = body instanceof ReadableStream && options.requestTimeoutMs === undefined ? { ...options, requestTimeoutMs: 0 } : options;
  return { body, callOptions };
}

export class Codebases {
  private constructor() {}

  /**
   * Creates a codebase from a tar archive (gzip allowed): bytes, a web stream or an async iterable
   * (e.g. `tar -c`'s stdout), streamed to the server. `name`: 1-63 of `a-z 0-9 . _ -`. Throws
   * `HutchApiError` (`bad_request`) for a bad name, a name in use or an archive tar cannot read.
   */
  static async upload(name: string, archive: Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>, options: Options = {}): Promise<CodebaseInfo> {
    const { body, callOptions } = rawBody(archive, options);
    return http(options).json<CodebaseInfo>({ method: 'POST', path: '/v1/codebases', query: { name }, body, headers: { 'content-type': 'application/x-tar' } }, callOptions);
  }

  /** Codebases on the server, oldest first. */
  static async list(options: Options = {}): Promise<CodebaseInfo[]> {
    return http(options).json<CodebaseInfo[]>({ method: 'GET', path: '/v1/codebases' }, options);
  }

  /** One codebase by id or name. Throws `NotFoundError` (`codebase_not_found`). */
  static async get(codebase: string, options: Options = {}): Promise<CodebaseInfo> {
    return http(options).json<CodebaseInfo>({ method: 'GET', path: codebasePath(codebase) }, options);
  }

  /** Deletes a codebase. Sandboxes using it keep their workspace but can no longer commit. */
  static async delete(codebase: string, options: Options = {}): Promise<void> {
    await http(options).json({ method: 'DELETE', path: codebasePath(codebase) }, options);
  }

  /** The whole tree as a tar archive (a web stream; the caller reads or cancels it). */
  static async archive(codebase: string, options: Options = {}): Promise<ReadableStream<Uint8Array>> {
    const response = await http(options).stream({ method: 'GET', path: `${codebasePath(codebase)}/archive` }, options);
    return response.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
  }

  /** Entries of a directory of the codebase (`/` is its root); `depth` > 1 descends (default 1). */
  static async listFiles(codebase: string, path = '/', options: Options & { depth?: number } = {}): Promise<FileEntry[]> {
    return http(options).json<FileEntry[]>({ method: 'GET', path: `${codebasePath(codebase)}/files/list`, query: { path, depth: options.depth } }, options);
  }

  /** Reads a file of the codebase. Throws `NotFoundError` (`file_not_found`). */
  static readFile(codebase: string, path: string, options?: CodebaseReadOptions & { format?: 'text' }): Promise<string>;
  static readFile(codebase: string, path: string, options: CodebaseReadOptions & { format: 'bytes' }): Promise<Uint8Array>;
  static readFile(codebase: string, path: string, options: CodebaseReadOptions & { format: 'stream' }): Promise<ReadableStream<Uint8Array>>;
  static async readFile(codebase: string, path: string, options: CodebaseReadOptions = {}): Promise<string | Uint8Array | ReadableStream<Uint8Array>> {
    const response = await http(options).stream({ method: 'GET', path: `${codebasePath(codebase)}/files`, query: { path }, headers: { accept: 'application/octet-stream' } }, options);
    if (options.format === 'stream') return response.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
    const bytes = new Uint8Array(await response.arrayBuffer());
    return options.format === 'bytes' ? bytes : new TextDecoder().decode(bytes);
  }

  /**
   * Writes a file into the codebase (parents created, what was there replaced). Sandboxes that
   * already use the codebase keep the view they started with.
   */
  static async writeFile(codebase: string, path: string, data: WriteData, options: Options & { mode?: number } = {}): Promise<FileEntry> {
    const { body, callOptions } = rawBody(data, options);
    const query = options.mode === undefined ? { path } : { path, mode: options.mode.toString(8).padStart(3, '0') };
    return http(options).json<FileEntry>({ method: 'PUT', path: `${codebasePath(codebase)}/files`, query, body }, callOptions);
  }

  /** Removes a file or a directory (recursively) from the codebase. */
  static async removeFile(codebase: string, path: string, options: Options = {}): Promise<void> {
    await http(options).json({ method: 'DELETE', path: `${codebasePath(codebase)}/files`, query: { path } }, options);
  }
}
