/**
 * Filesystem snapshots of the container tier: a tar of the sandbox's writable layer (the overlay's
 * upper dir: every change to the template, /workspace included, whiteouts and opaque-dir xattrs
 * kept) under `<dataDir>/snapshots/<snapshotId>.tar`, with size and sha256 (host/snapshot-archive.ts).
 * A running sandbox is frozen for the copy so the archive is consistent. A restore unpacks the
 * upper dir into a new sandbox over the same template (fork = restore N times). Memory is not
 * captured (this crun is built without CRIU).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BadRequestError } from '../../domain/errors.js';
import type { SnapshotArtifact, SnapshotKind } from '../../domain/snapshot.js';
import { canFreeze, setFrozen } from '../../host/cgroups.js';
import { archiveDirs, exportArchive, extractArchive, importArchive } from '../../host/snapshot-archive.js';
import type { ContainerContext, ContainerSandbox } from './context.js';
import { CONTAINER_ID_PATTERN, type ContainerPaths } from './plan.js';

function snapshotFile(ctx: ContainerContext, snapshotId: string): string {
  if (!CONTAINER_ID_PATTERN.test(snapshotId)) throw new BadRequestError(`Snapshot id ${JSON.stringify(snapshotId)} has characters the container backend cannot use.`);
  return join(ctx.dataDir, 'snapshots', `${snapshotId}.tar`);
}

/** Archives the writable layer of `sandbox` into a new artifact. */
export async function snapshotSandbox(ctx: ContainerContext, sandbox: ContainerSandbox, snapshotId: string, kind: SnapshotKind): Promise<SnapshotArtifact> {
  const file = snapshotFile(ctx, snapshotId);
  await mkdir(join(ctx.dataDir, 'snapshots'), { recursive: true, mode: 0o700 });
  const freeze = sandbox.state === 'running' && canFreeze(ctx.layout);
  if (freeze) await setFrozen(ctx.layout, sandbox.id, true);
  try {
    const { sizeBytes, sha256 } = await archiveDirs(ctx.tools.tar, join(sandbox.paths.dir, 'root'), ['./upper'], file, 'Archiving the writable layer');
    return { snapshotId, backend: 'container', kind, location: file, sizeBytes, sha256, memory: false };
  } finally {
    if (freeze) await setFrozen(ctx.layout, sandbox.id, false);
  }
}

/** Unpacks `artifact` as the upper layer of a new sandbox (before its overlay is mounted), after checking size and sha256. */
export async function unpackSnapshot(ctx: ContainerContext, artifact: SnapshotArtifact, paths: ContainerPaths): Promise<void> {
  await extractArchive(ctx.tools.tar, snapshotFile(ctx, artifact.snapshotId), artifact, join(paths.dir, 'root'));
}

export async function deleteSnapshotFile(ctx: ContainerContext, artifact: SnapshotArtifact): Promise<void> {
  await rm(snapshotFile(ctx, artifact.snapshotId), { force: true });
}

export async function exportSnapshotFile(ctx: ContainerContext, artifact: SnapshotArtifact): Promise<AsyncIterable<Uint8Array>> {
  return exportArchive(snapshotFile(ctx, artifact.snapshotId), artifact);
}

export async function importSnapshotFile(ctx: ContainerContext, expected: Omit<SnapshotArtifact, 'location' | 'backend'>, data: AsyncIterable<Uint8Array>): Promise<SnapshotArtifact> {
  const file = snapshotFile(ctx, expected.snapshotId);
  await mkdir(join(ctx.dataDir, 'snapshots'), { recursive: true, mode: 0o700 });
  await importArchive(file, expected, data);
  return { ...expected, backend: 'container', location: file };
}
