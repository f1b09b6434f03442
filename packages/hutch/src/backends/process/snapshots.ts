/**
 * Filesystem snapshots of the process tier: a tar of the sandbox's writable state — its workspace
 * and, for a template sandbox, the upper layer of its root overlay (whiteouts included; the
 * template itself is not copied, a restore stacks the upper on the same template) — numeric owners kept
 * under `<dataDir>/snapshots/<snapshotId>.tar`, with size and sha256. A running sandbox is frozen
 * for the copy so the archive is consistent. Memory is never captured (no CRIU in this tier).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BadRequestError } from '../../domain/errors.js';
import type { SnapshotArtifact, SnapshotKind } from '../../domain/snapshot.js';
import { canFreeze, setFrozen } from '../../host/cgroups.js';
import type { BackendContext, ProcessSandbox } from './context.js';
import { archiveDirs, exportArchive, extractArchive, importArchive } from '../../host/snapshot-archive.js';
import { SANDBOX_ID_PATTERN } from './plan.js';

function snapshotFile(ctx: BackendContext, snapshotId: string): string {
  if (!SANDBOX_ID_PATTERN.test(snapshotId)) throw new BadRequestError(`Snapshot id ${JSON.stringify(snapshotId)} has characters the process backend cannot use.`);
  return join(ctx.dataDir, 'snapshots', `${snapshotId}.tar`);
}

/** Archives the writable state of `sandbox` into a new artifact. */
export async function snapshotSandbox(ctx: BackendContext, sandbox: ProcessSandbox, snapshotId: string, kind: SnapshotKind): Promise<SnapshotArtifact> {
  const file = snapshotFile(ctx, snapshotId);
  await mkdir(join(ctx.dataDir, 'snapshots'), { recursive: true, mode: 0o700 });
  const freeze = sandbox.state === 'running' && canFreeze(ctx.layout);
  if (freeze) await setFrozen(ctx.layout, sandbox.id, true);
  try {
    const parts = ['./workspace', ...(sandbox.spec.rootfsPath ? ['./root/upper'] : [])];
    const { sizeBytes, sha256 } = await archiveDirs(ctx.tools.tar, sandbox.paths.dir, parts, file, 'Archiving the workspace');
    return { snapshotId, backend: 'process', kind, location: file, sizeBytes, sha256, memory: false };
  } finally {
    if (freeze) await setFrozen(ctx.layout, sandbox.id, false);
  }
}

/** Unpacks `artifact` into a new, not yet started sandbox's directory after checking its integrity. */
export async function unpackSnapshot(ctx: BackendContext, artifact: SnapshotArtifact, sandboxDir: string): Promise<void> {
  await extractArchive(ctx.tools.tar, snapshotFile(ctx, artifact.snapshotId), artifact, sandboxDir);
}

/** Deletes an artifact's file (idempotent). */
export async function deleteSnapshotFile(ctx: BackendContext, artifact: SnapshotArtifact): Promise<void> {
  await rm(snapshotFile(ctx, artifact.snapshotId), { force: true });
}

/** The artifact's bytes (the tar file), after checking it still matches its record. */
export async function exportSnapshotFile(ctx: BackendContext, artifact: SnapshotArtifact): Promise<AsyncIterable<Uint8Array>> {
  return exportArchive(snapshotFile(ctx, artifact.snapshotId), artifact);
}

/** Writes imported bytes as a new artifact; keeps nothing unless size and sha256 match. */
export async function importSnapshotFile(ctx: BackendContext, expected: Omit<SnapshotArtifact, 'location' | 'backend'>, data: AsyncIterable<Uint8Array>): Promise<SnapshotArtifact> {
  const file = snapshotFile(ctx, expected.snapshotId);
  await mkdir(join(ctx.dataDir, 'snapshots'), { recursive: true, mode: 0o700 });
  await importArchive(file, expected, data);
  return { ...expected, backend: 'process', location: file };
}
