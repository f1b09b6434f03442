/**
 * Filesystem snapshot archives of the host-based tiers: a tar of some of a sandbox's host dirs
 * (numeric owners, overlay whiteouts and `trusted.overlay.*` xattrs kept), its size and sha256,
 * and an integrity check before anything is unpacked. Memory is never part of these archives.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { BadRequestError, SnapshotNotFoundError } from '../domain/errors.js';
import type { SnapshotArtifact } from '../domain/snapshot.js';
import { commandFailed, errnoOf } from './host-errors.js';

const run = promisify(execFile);

/** Hex sha256 of a file's bytes. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Archives `parts` (relative to `cwd`) into `file`; returns its size and sha256. Removes a partial file on failure. */
export async function archiveDirs(tar: string, cwd: string, parts: string[], file: string, what = 'Archiving the sandbox files'): Promise<{ sizeBytes: number; sha256: string }> {
  try {
    await run(tar, ['--numeric-owner', '--xattrs', '--xattrs-include=trusted.overlay.*', '-C', cwd, '-cf', file, ...parts], { maxBuffer: 1 << 20 });
  } catch (err) {
    await rm(file, { force: true });
    throw commandFailed(what, { exitCode: (err as { code?: number }).code ?? null }, err);
  }
  return { sizeBytes: (await stat(file)).size, sha256: await sha256File(file) };
}

/**
 * Throws `SnapshotNotFoundError` when `file` is gone and `BadRequestError` when its size or
 * sha256 differs from what `artifact` recorded (a corrupted or replaced archive is never unpacked).
 */
export async function verifyArchive(file: string, artifact: SnapshotArtifact): Promise<void> {
  try {
    if ((await stat(file)).size !== artifact.sizeBytes || (await sha256File(file)) !== artifact.sha256) {
      throw new BadRequestError(`Snapshot ${artifact.snapshotId} does not match its recorded size and sha256.`, { snapshotId: artifact.snapshotId });
    }
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') throw new SnapshotNotFoundError(artifact.snapshotId);
    throw err;
  }
}

/** Verifies `file` against `artifact`, then unpacks it into `dir` (owners and permissions kept). */
export async function extractArchive(tar: string, file: string, artifact: SnapshotArtifact, dir: string): Promise<void> {
  await verifyArchive(file, artifact);
  try {
    await run(tar, ['--numeric-owner', '--same-permissions', '--xattrs', '--xattrs-include=trusted.overlay.*', '-C', dir, '-xf', file], { maxBuffer: 1 << 20 });
  } catch (err) {
    throw commandFailed('Unpacking the snapshot', { exitCode: (err as { code?: number }).code ?? null }, err);
  }
}

/** The archive's bytes, after checking it still has the recorded size. */
export async function exportArchive(file: string, artifact: SnapshotArtifact): Promise<AsyncIterable<Uint8Array>> {
  const size = await stat(file).then((s) => s.size, () => undefined);
  if (size === undefined) throw new SnapshotNotFoundError(artifact.snapshotId);
  if (size !== artifact.sizeBytes) throw new BadRequestError(`Snapshot ${artifact.snapshotId} does not match its recorded size and sha256.`, { snapshotId: artifact.snapshotId });
  return createReadStream(file);
}

/** Writes imported bytes to a new `file`; removes it and throws `BadRequestError` unless size and sha256 match. */
export async function importArchive(file: string, expected: Pick<SnapshotArtifact, 'snapshotId' | 'sizeBytes' | 'sha256'>, data: AsyncIterable<Uint8Array>): Promise<void> {
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
}
