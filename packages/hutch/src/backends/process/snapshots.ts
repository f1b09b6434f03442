/**
 * Filesystem snapshots of the process tier: a tar of the sandbox's writable state — its workspace
 * and, for a template sandbox, the upper layer of its root overlay (whiteouts included; the
 * template itself is not copied, a restore stacks the upper on the same template) — numeric owners kept
 * under `<dataDir>/snapshots/<snapshotId>.tar`, with size and sha256. A running sandbox is frozen
 * for the copy so the archive is consistent. Memory is never captured (no CRIU in this tier).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BadRequestError, SnapshotNotFoundError } from '../../domain/errors.js';
import type { SnapshotArtifact, SnapshotKind } from '../../domain/snapshot.js';
import { canFreeze, setFrozen } from './cgroups.js';
import type { BackendContext, ProcessSandbox } from './context.js';
import { commandFailed, errnoOf } from './errors.js';
import { SANDBOX_ID_PATTERN } from './plan.js';

const run = promisify(execFile);

function snapshotFile(ctx: BackendContext, snapshotId: string): string {
  if (!SANDBOX_ID_PATTERN.test(snapshotId)) throw new BadRequestError(`Snapshot id ${JSON.stringify(snapshotId)} has characters the process backend cannot use.`);
  return join(ctx.dataDir, 'snapshots', `${snapshotId}.tar`);
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Archives the writable state of `sandbox` into a new artifact. */
export async function snapshotSandbox(ctx: BackendContext, sandbox: ProcessSandbox, snapshotId: string, kind: SnapshotKind): Promise<SnapshotArtifact> {
  const file = snapshotFile(ctx, snapshotId);
  await mkdir(join(ctx.dataDir, 'snapshots'), { recursive: true, mode: 0o700 });
  const freeze = sandbox.state === 'running' && canFreeze(ctx.layout);
  if (freeze) await setFrozen(ctx.layout, sandbox.id, true);
  try {
    const parts = ['./workspace', ...(sandbox.spec.rootfsPath ? ['./root/upper'] : [])];
    await run(ctx.tools.tar, ['--numeric-owner', '-C', sandbox.paths.dir, '-cf', file, ...parts], { maxBuffer: 1 << 20 });
  } catch (err) {
    await rm(file, { force: true });
    throw commandFailed('Archiving the workspace', { exitCode: (err as { code?: number }).code ?? null }, err);
  } finally {
    if (freeze) await setFrozen(ctx.layout, sandbox.id, false);
  }
  return { snapshotId, backend: 'process', kind, location: file, sizeBytes: (await stat(file)).size, sha256: await sha256File(file), memory: false };
}

/** Unpacks `artifact` into a new, not yet started sandbox's directory after checking its integrity. */
export async function unpackSnapshot(ctx: BackendContext, artifact: SnapshotArtifact, sandboxDir: string): Promise<void> {
  const file = snapshotFile(ctx, artifact.snapshotId);
  try {
    if ((await stat(file)).size !== artifact.sizeBytes || (await sha256File(file)) !== artifact.sha256) {
      throw new BadRequestError(`Snapshot ${artifact.snapshotId} does not match its recorded size and sha256.`, { snapshotId: artifact.snapshotId });
    }
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') throw new SnapshotNotFoundError(artifact.snapshotId);
    throw err;
  }
  try {
    await run(ctx.tools.tar, ['--numeric-owner', '--same-permissions', '-C', sandboxDir, '-xf', file], { maxBuffer: 1 << 20 });
  } catch (err) {
    throw commandFailed('Unpacking the snapshot', { exitCode: (err as { code?: number }).code ?? null }, err);
  }
}

/** Deletes an artifact's file (idempotent). */
export async function deleteSnapshotFile(ctx: BackendContext, artifact: SnapshotArtifact): Promise<void> {
  await rm(snapshotFile(ctx, artifact.snapshotId), { force: true });
}

/** The artifact's bytes (the tar file), after checking it still matches its record. */
export async function exportSnapshotFile(ctx: BackendContext, artifact: SnapshotArtifact): Promise<AsyncIterable<Uint8Array>> {
  const file = snapshotFile(ctx, artifact.snapshotId);
  const size = await stat(file).then((s) => s.size, () => undefined);
  if (size === undefined) throw new SnapshotNotFoundError(artifact.snapshotId);
  if (size !== artifact.sizeBytes) throw new BadRequestError(`Snapshot ${artifact.snapshotId} does not match its recorded size and sha256.`, { snapshotId: artifact.snapshotId });
  return createReadStream(file);
}

/** Writes imported bytes as a new artifact; keeps nothing unless size and sha256 match. */
export async function importSnapshotFile(ctx: BackendContext, expected: Omit<SnapshotArtifact, 'location' | 'backend'>, data: AsyncIterable<Uint8Array>): Promise<SnapshotArtifact> {
  const file = snapshotFile(ctx, expected.snapshotId);
  await mkdir(join(ctx.dataDir, 'snapshots'), { recursive: true, mode: 0o700 });
  const hash = createHash('sha256');
  let size = 0;
  const out = await open(file, 'wx', 0o600);
  try {
    for await (const chunk of data) {
      hash.update(chunk);
      size += chunk.length;
      await out.write(chunk);
    }
  } finally {
    await out.close();
  }
  if (size !== expected.sizeBytes || hash.digest('hex') !== expected.sha256) {
    await rm(file, { force: true });
    throw new BadRequestError(`Snapshot ${expected.snapshotId} does not match its recorded size and sha256.`, { snapshotId: expected.snapshotId });
  }
  return { ...expected, backend: 'process', location: file };
}
