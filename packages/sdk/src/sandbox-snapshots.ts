/**
 * `sandbox.snapshots`: take and list snapshots of one sandbox. Restoring is `Sandbox.fromSnapshot`;
 * forking is `Snapshots.fork`.
 */
import type { SnapshotInfo } from '@hutch/protocol';
import type { CallOptions } from './connection-config.js';
import type { HttpClient } from './http-client.js';

/** Kinds of snapshot: `continuation` (default: keep going from here), `pause`, `template`. */
export type SnapshotKind = SnapshotInfo['kind'];

export class SandboxSnapshots {
  /** @internal Use `sandbox.snapshots`. */
  constructor(
    private readonly http: HttpClient,
    private readonly sandboxId: string,
  ) {}

  /** Takes a snapshot (filesystem always; memory where the backend can). */
  async create(options: CallOptions & { kind?: SnapshotKind } = {}): Promise<SnapshotInfo> {
    const body = options.kind === undefined ? {} : { kind: options.kind };
    return this.http.json<SnapshotInfo>({ method: 'POST', path: `/v1/sandboxes/${encodeURIComponent(this.sandboxId)}/snapshots`, json: body }, options);
  }

  /** Snapshots taken of this sandbox. */
  async list(options: CallOptions = {}): Promise<SnapshotInfo[]> {
    return this.http.json<SnapshotInfo[]>({ method: 'GET', path: '/v1/snapshots', query: { sandboxId: this.sandboxId } }, options);
  }
}
