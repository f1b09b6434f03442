/**
 * Memory snapshots.
 * - Template snapshots (`<cacheDir>/tsnap/<key>`): the first create of a (template, shape) cold-boots
 *   one VM with its RAM in a shared file, warms it (one shell run), and saves its device state;
 *   every later create restores from it with its own qcow2 overlay, so create costs a restore
 *   (~0.1–0.2 s under TCG), not a boot.
 * - Sandbox snapshots (`<dataDir>/snapshots/<id>`): pause → migrate (RAM in the stream) → copy of
 *   the qcow2 overlay taken while the guest is stopped, so disk and memory agree; then the source
 *   resumes unless it was paused. Restore = a new QEMU fed that stream; fork = N restores.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BackendFailureError, SnapshotNotFoundError } from '../../domain/errors.js';
import type { SnapshotArtifact, SnapshotKind } from '../../domain/snapshot.js';
import { exists, imageKey } from './artifacts.js';
import { coldBoot, type MemorySnapshot } from './boot.js';
import { once, type MicrovmContext, type Vm } from './context.js';
import { execInVm } from './exec.js';
import { migrateToFileUri, templateSnapshotKey, vmPaths, type VmShape } from './plan.js';
import { withQmp, waitMigration, type QmpClient } from './qmp.js';
import { runTool } from './errors.js';
import { killQemu, waitExit } from './vm.js';

interface SnapshotMeta {
  format: 'ramfile' | 'stream';
  shape: VmShape;
  image: string;
  createdAt: string;
}

/** The template snapshot for `image` and `shape`, built on first use (one build per key at a time). */
export async function templateSnapshot(ctx: MicrovmContext, image: string, shape: VmShape): Promise<MemorySnapshot> {
  const artifacts = await ctx.artifacts();
  const key = templateSnapshotKey({ kernel: artifacts.kernelPackage, initrd: artifacts.initrdDigest, image, accel: ctx.accel, qemuVersion: ctx.qemuVersion, shape });
  const dir = join(ctx.cacheDir, 'tsnap', key);
  if (await exists(join(dir, 'meta.json'))) return { dir, format: 'ramfile' };
  return once(ctx, `tsnap:${key}`, async () => {
    if (await exists(join(dir, 'meta.json'))) return { dir, format: 'ramfile' as const };
    const id = `tsnap-${randomBytes(6).toString('hex')}`;
    const staging = join(ctx.cacheDir, 'tsnap', `.${id}`);
    await mkdir(staging, { recursive: true });
    const paths = { ...vmPaths(join(ctx.cacheDir, 'tsnap'), id), dir: staging };
    Object.assign(paths, { disk: join(staging, 'disk.qcow2'), qmpSocket: join(staging, 'q.sock'), pidFile: join(staging, 'qemu.pid'), consoleLog: join(staging, 'console.log'), stderrLog: join(staging, 'qemu.err'), config: join(staging, 'config.json') });
    const vm: Vm = {
      id, spec: { id, resources: {}, env: {}, network: { mode: shape.network } }, shape, paths, state: 'created', image, booted: false,
      agentGeneration: 0, processes: new Map(), watchers: new Map(), earlyEvents: new Map(), nextWatchId: 1,
      connections: new Map(), nextConnectionId: 1,
    };
    try {
      await runTool([ctx.tools.qemuImg, 'create', '-q', '-f', 'qcow2', '-b', image, '-F', 'raw', paths.disk]);
      await coldBoot(ctx, vm, { kind: 'file', path: join(staging, 'ram.bin'), shared: true }, false);
      // Warm the guest's page cache with what every exec touches (bash, its profile, libc).
      const warm = await execInVm(vm, vm.agent!, { shell: 'true' });
      await warm.wait();
      await vm.agent!.request('sync', {}, { timeoutMs: 60_000 });
      await withQmp(paths.qmpSocket, async (qmp) => {
        await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'x-ignore-shared', state: true }] });
        await saveState(qmp, join(staging, 'state.bin'));
        await qmp.execute('quit').catch(() => undefined);
      });
      vm.agent?.close();
      await waitExit(vm.pid!, id);
      const meta: SnapshotMeta = { format: 'ramfile', shape, image: imageKey(image), createdAt: new Date().toISOString() };
      await writeFile(join(staging, 'meta.json'), JSON.stringify(meta));
      for (const f of ['q.sock', 'a0.sock', 'qemu.pid']) await rm(join(staging, f), { force: true });
      await rename(staging, dir);
      return { dir, format: 'ramfile' as const };
    } finally {
      vm.agent?.close();
      if (vm.pid) await killQemu(vm.pid, id);
      await rm(staging, { recursive: true, force: true });
    }
  });
}

/** stop → migrate the whole state to `file` and wait for it (the VM is left stopped). */
async function saveState(qmp: QmpClient, file: string): Promise<void> {
  await qmp.execute('migrate-set-parameters', { 'max-bandwidth': 8 * 1024 ** 3, 'downtime-limit': 2000 });
  await qmp.execute('stop');
  await qmp.execute('migrate', { uri: migrateToFileUri(file) });
  await waitMigration(qmp);
}

/** Snapshots a running or paused VM (memory + disk); it keeps running (or stays paused) afterwards. */
export async function snapshotVm(ctx: MicrovmContext, vm: Vm, snapshotId: string, kind: SnapshotKind): Promise<SnapshotArtifact> {
  const dir = join(ctx.dataDir, 'snapshots', snapshotId);
  const staging = join(ctx.dataDir, 'snapshots', `.${snapshotId}-${randomBytes(4).toString('hex')}`);
  await mkdir(staging, { recursive: true, mode: 0o700 });
  const wasRunning = vm.state === 'running';
  try {
    if (wasRunning && vm.agent) await vm.agent.request('sync', {}, { timeoutMs: 60_000 });
    await withQmp(vm.paths.qmpSocket, async (qmp) => {
      // A clone of a template snapshot was restored with x-ignore-shared on; a sandbox snapshot
      // carries its RAM in the stream, and the restoring side expects the capability off.
      await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'x-ignore-shared', state: false }] });
      await saveState(qmp, join(staging, 'state.bin'));
      try {
        // The disk copy is taken while the guest is stopped, so it matches the memory image.
        await copyFile(vm.paths.disk, join(staging, 'disk.qcow2'));
      } finally {
        if (wasRunning) await qmp.execute('cont');
      }
    });
    const meta: SnapshotMeta = { format: 'stream', shape: vm.shape, image: vm.image, createdAt: new Date().toISOString() };
    await writeFile(join(staging, 'meta.json'), JSON.stringify(meta));
    const { sizeBytes, sha256 } = await digestFiles(staging, ['meta.json', 'state.bin', 'disk.qcow2']);
    await rename(staging, dir);
    return { snapshotId, backend: 'microvm', kind, location: dir, sizeBytes, sha256, memory: true };
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err instanceof BackendFailureError ? err : new BackendFailureError('The VM snapshot failed.', undefined, { cause: err });
  }
}

async function digestFiles(dir: string, names: string[]): Promise<{ sizeBytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for (const name of names) {
    sizeBytes += (await stat(join(dir, name))).size;
    for await (const chunk of createReadStream(join(dir, name))) hash.update(chunk as Buffer);
  }
  return { sizeBytes, sha256: hash.digest('hex') };
}

/** Reads a sandbox snapshot's metadata; throws `SnapshotNotFoundError` when it is gone. */
export async function readSnapshot(artifact: SnapshotArtifact): Promise<{ snapshot: MemorySnapshot; shape: VmShape; image: string }> {
  try {
    const meta = JSON.parse(await readFile(join(artifact.location, 'meta.json'), 'utf8')) as SnapshotMeta;
    return { snapshot: { dir: artifact.location, format: meta.format }, shape: meta.shape, image: meta.image };
  } catch {
    throw new SnapshotNotFoundError(artifact.snapshotId);
  }
}

export async function deleteSnapshotDir(ctx: MicrovmContext, artifact: SnapshotArtifact): Promise<void> {
  if (!artifact.location.startsWith(join(ctx.dataDir, 'snapshots'))) throw new SnapshotNotFoundError(artifact.snapshotId);
  await rm(artifact.location, { recursive: true, force: true });
}
