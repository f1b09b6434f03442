/**
 * Snapshots: capture a sandbox (running, paused or stopped), list and delete them, restore one into
 * a new sandbox, and fork (restore N times). Artifacts stay backend-private; clients see `SnapshotInfo`.
 */
import { randomBytes } from 'node:crypto';
import { BadRequestError, CapabilityMissingError, CapacityRejectedError, SnapshotNotFoundError } from '../domain/errors.js';
import type { AdmissionLimits, DiskProbe } from './admission.js';
import { readBundle, writeBundle, type BundleHeader } from './snapshot-bundle.js';
import type { SandboxInfo } from '../domain/sandbox.js';
import { assertStateIn, type SandboxState } from '../domain/sandbox-state.js';
import type { SnapshotArtifact, SnapshotInfo, SnapshotKind } from '../domain/snapshot.js';
import { hasCapability } from '../port/capabilities.js';
import type { EngineContext } from './context.js';
import type { CreateSandboxRequest } from './create-request.js';
import type { Lifecycle } from './lifecycle.js';
import type { SnapshotRow } from './store.js';

function toSnapshotInfo(row: SnapshotRow): SnapshotInfo {
  const artifact = JSON.parse(row.artifact) as SnapshotArtifact;
  return { id: row.id, sandboxId: row.sandbox_id, backend: row.backend, kind: row.kind as SnapshotKind, template: row.template, sizeBytes: artifact.sizeBytes, sha256: artifact.sha256, memory: artifact.memory, createdAt: row.created_at };
}

export class Snapshots {
  constructor(
    private readonly ctx: EngineContext,
    private readonly lifecycle: Lifecycle,
    private readonly limits: Pick<AdmissionLimits, 'diskFloorBytes'>,
    private readonly diskProbe: DiskProbe,
  ) {}

  async create(sandboxId: string, options: { kind?: SnapshotKind } = {}): Promise<SnapshotInfo> {
    const kind = options.kind ?? 'continuation';
    return this.ctx.locks.run(sandboxId, async () => {
      const row = this.ctx.row(sandboxId);
      assertStateIn(row.state as SandboxState, ['running', 'paused', 'stopped'], 'snapshot');
      const backend = this.ctx.backendOf(row);
      this.checkDisk();
      if (!hasCapability(await this.ctx.report(backend), 'snapshot.filesystem')) throw new CapabilityMissingError('snapshot.filesystem', backend.name, 'snapshot a sandbox');
      const snapshotId = `snap${randomBytes(8).toString('hex')}`;
      const artifact = await this.ctx.journal.effect({ sandboxId, effect: 'snapshot', summary: { snapshotId, kind }, describe: (a) => ({ sizeBytes: a.sizeBytes, memory: a.memory }) }, () =>
        backend.snapshot(sandboxId, { snapshotId, kind }),
      );
      const created: SnapshotRow = { id: snapshotId, sandbox_id: sandboxId, backend: backend.name, kind, template: row.template, artifact: JSON.stringify(artifact), created_at: this.ctx.now() };
      this.ctx.store.insertSnapshot(created);
      this.ctx.events.emit(sandboxId, 'snapshot.created', { snapshotId, kind, sizeBytes: artifact.sizeBytes });
      return toSnapshotInfo(created);
    });
  }

  get(snapshotId: string): SnapshotInfo {
    return toSnapshotInfo(this.row(snapshotId));
  }

  list(filter: { sandboxId?: string } = {}): SnapshotInfo[] {
    return this.ctx.store.listSnapshots(filter.sandboxId).map(toSnapshotInfo);
  }

  /** The snapshot as a portable file (see snapshot-bundle.ts). */
  async export(snapshotId: string): Promise<AsyncIterable<Uint8Array>> {
    const row = this.row(snapshotId);
    const backend = this.ctx.registry.get(row.backend);
    if (!backend.exportSnapshot) throw new CapabilityMissingError('snapshot.export', backend.name, 'export a snapshot');
    const artifact = JSON.parse(row.artifact) as SnapshotArtifact;
    const header: BundleHeader = { backend: row.backend, kind: row.kind as SnapshotKind, template: row.template, sizeBytes: artifact.sizeBytes, sha256: artifact.sha256, memory: artifact.memory, createdAt: row.created_at };
    return writeBundle(header, await backend.exportSnapshot(artifact));
  }

  /** Stores a snapshot file made by `export` (here or on another host) as a new snapshot. */
  async import(data: AsyncIterable<Uint8Array>): Promise<SnapshotInfo> {
    const { header, body } = await readBundle(data);
    if (!this.ctx.registry.has(header.backend)) throw new BadRequestError(`This snapshot was made on the ${header.backend} backend, which this server does not run.`, { backend: header.backend });
    const backend = this.ctx.registry.get(header.backend);
    if (!backend.importSnapshot) throw new CapabilityMissingError('snapshot.export', backend.name, 'import a snapshot');
    this.checkDisk();
    const snapshotId = `snap${randomBytes(8).toString('hex')}`;
    const artifact = await this.ctx.journal.effect({ sandboxId: null, effect: 'snapshot', summary: { snapshotId, imported: true, sizeBytes: header.sizeBytes } }, () =>
      backend.importSnapshot!({ snapshotId, kind: header.kind, sizeBytes: header.sizeBytes, sha256: header.sha256, memory: header.memory }, body),
    );
    const row: SnapshotRow = { id: snapshotId, sandbox_id: 'imported', backend: backend.name, kind: header.kind, template: header.template, artifact: JSON.stringify(artifact), created_at: this.ctx.now() };
    this.ctx.store.insertSnapshot(row);
    return toSnapshotInfo(row);
  }

  private checkDisk(): void {
    if (this.diskProbe() < this.limits.diskFloorBytes) throw new CapacityRejectedError('free disk is below the floor; delete snapshots or templates first', { limit: 'diskFloorBytes' });
  }

  async delete(snapshotId: string): Promise<void> {
    const row = this.row(snapshotId);
    const backend = this.ctx.registry.get(row.backend);
    await this.ctx.journal.effect({ sandboxId: row.sandbox_id, effect: 'delete_snapshot', summary: { snapshotId } }, () => backend.deleteSnapshot(JSON.parse(row.artifact)));
    this.ctx.store.deleteSnapshot(snapshotId);
  }

  /** Creates a new sandbox from a snapshot. The template and backend come from the snapshot. */
  async restore(snapshotId: string, request: CreateSandboxRequest = {}): Promise<SandboxInfo> {
    const row = this.row(snapshotId);
    if (request.backend && request.backend !== row.backend) throw new BadRequestError(`Snapshot ${snapshotId} belongs to the ${row.backend} backend and restores there only.`);
    const artifact = JSON.parse(row.artifact) as SnapshotArtifact;
    const source = this.ctx.store.getSandbox(row.sandbox_id);
    const inherited: CreateSandboxRequest = source
      ? { resources: JSON.parse(source.resources), network: JSON.parse(source.network), env: JSON.parse(source.env), metadata: JSON.parse(source.metadata), ...(source.workdir ? { workdir: source.workdir } : {}) }
      : {};
    const full: CreateSandboxRequest = { ...inherited, ...request, backend: row.backend };
    if (row.template !== null) full.template = row.template;
    return this.lifecycle.create(full, (backend, spec) => backend.restore(artifact, spec));
  }

  /** `count` new sandboxes from one snapshot. */
  async fork(snapshotId: string, count: number, request: CreateSandboxRequest = {}): Promise<SandboxInfo[]> {
    if (!Number.isInteger(count) || count < 1 || count > 100) throw new BadRequestError('count must be an integer from 1 to 100.', { field: 'count' });
    const out: SandboxInfo[] = [];
    for (let i = 0; i < count; i++) out.push(await this.restore(snapshotId, { ...request, idempotencyKey: undefined }));
    return out;
  }

  private row(snapshotId: string): SnapshotRow {
    const row = this.ctx.store.getSnapshot(snapshotId);
    if (!row) throw new SnapshotNotFoundError(snapshotId);
    return row;
  }
}
