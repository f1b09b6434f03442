/**
 * `Snapshots`: snapshots across sandboxes — list, get, delete, restore and fork (restore N times).
 * Taking one is `sandbox.snapshots.create()`.
 */
import type { CreatedSandbox, SnapshotInfo } from '@hutch/protocol';
import { ConnectionConfig, type CallOptions, type ConnectionOptions } from './connection-config.js';
import { createBody, type SandboxCreateOptions } from './create-options.js';
import { HttpClient } from './http-client.js';
import { Sandbox } from './sandbox.js';

type Options = ConnectionOptions & CallOptions;

function client(options: ConnectionOptions): { http: HttpClient; config: ConnectionConfig } {
  const config = new ConnectionConfig(options);
  return { http: new HttpClient(config), config };
}

function snapshotPath(snapshotId: string): string {
  if (!snapshotId) throw new TypeError('A snapshot id is required.');
  return `/v1/snapshots/${encodeURIComponent(snapshotId)}`;
}

export class Snapshots {
  private constructor() {}

  /** Snapshots on the server, optionally only those of one sandbox. */
  static async list(options: Options & { sandboxId?: string } = {}): Promise<SnapshotInfo[]> {
    return client(options).http.json<SnapshotInfo[]>({ method: 'GET', path: '/v1/snapshots', query: { sandboxId: options.sandboxId } }, options);
  }

  /** One snapshot. Throws `NotFoundError` (`snapshot_not_found`). */
  static async get(snapshotId: string, options: Options = {}): Promise<SnapshotInfo> {
    return client(options).http.json<SnapshotInfo>({ method: 'GET', path: snapshotPath(snapshotId) }, options);
  }

  /** Deletes a snapshot. Throws `NotFoundError` (`snapshot_not_found`). */
  static async delete(snapshotId: string, options: Options = {}): Promise<void> {
    await client(options).http.json({ method: 'DELETE', path: snapshotPath(snapshotId) }, options);
  }

  /** Creates a sandbox from a snapshot (same as `Sandbox.fromSnapshot`). */
  static async restore(snapshotId: string, options: SandboxCreateOptions = {}): Promise<Sandbox> {
    return Sandbox.fromSnapshot(snapshotId, options);
  }

  /** The snapshot as a portable file (bytes), to keep or import on another Hutch server. */
  static async export(snapshotId: string, options: Options = {}): Promise<ReadableStream<Uint8Array>> {
    const response = await client(options).http.stream({ method: 'GET', path: `${snapshotPath(snapshotId)}/export` }, options);
    if (!response.body) throw new TypeError('The server sent no snapshot file.');
    return response.body;
  }

  /** Imports a file made by `export`; the server checks its size and sha256 before keeping it. */
  static async import(file: Uint8Array | ReadableStream<Uint8Array>, options: Options = {}): Promise<SnapshotInfo> {
    const callOptions: Options = file instanceof ReadableStream && options.requestTimeoutMs === undefined ? { ...options, requestTimeoutMs: 0 } : options;
    return client(options).http.json<SnapshotInfo>({ method: 'POST', path: '/v1/snapshots/import', body: file }, callOptions);
  }

  /** Creates `count` sandboxes from one snapshot. */
  static async fork(snapshotId: string, count: number, options: SandboxCreateOptions = {}): Promise<Sandbox[]> {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${String(count)}.`);
    const { http, config } = client(options);
    const created = await http.json<CreatedSandbox[]>({ method: 'POST', path: `${snapshotPath(snapshotId)}/fork`, json: { ...createBody(options), count } }, options);
    return created.map((c) => Sandbox.fromCreated(c, config));
  }
}
