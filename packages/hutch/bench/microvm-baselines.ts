/**
 * Raw baselines of the microVM tier, measured in the same run as the tier itself: QEMU driven
 * directly by the few lines below (no engine, no backend lifecycle, no `hello`), with the command
 * line the backend plans (`qemuArgv` of backends/microvm/plan.ts: same kernel, initramfs, root
 * image, memory size, vcpus and acceleration). Three mechanisms:
 * - `start`: the VMM alone. Spawn with `-S` (machine built, kernel and initramfs loaded, guest
 *   paused) → QMP greeting (the analogue of Firecracker's "VMM up to API socket"), then `quit` →
 *   process exited.
 * - `coldBoot`: spawn → kernel → initramfs → agent, until the agent answers its first request
 *   (a `stat /`) on the virtio-serial port.
 * - `restore`: spawn with `-incoming defer` → the template snapshot's device state, its RAM file
 *   mapped copy-on-write (`x-ignore-shared`) → `cont` → the agent's first answer. The qcow2
 *   overlay on the snapshot's disk is made before the clock starts and timed on its own.
 * Every QEMU is named `hutch-bench-bare-<n>`, keeps its files in its own directory under `dir`,
 * and is killed (and the directory removed) before the call returns, also on failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { connectAgent } from '../src/backends/microvm/agent-channel.js';
import { exists, prepareBootArtifacts, prepareRootImage } from '../src/backends/microvm/artifacts.js';
import { probeHost } from '../src/backends/microvm/capabilities.js';
import { DEFAULT_TOOLS } from '../src/backends/microvm/context.js';
import { runTool } from '../src/backends/microvm/errors.js';
import { migrateFromFileUri, qemuArgv, templateSnapshotKey, type Accel, type GuestMemory, type QemuPlan, type VmShape } from '../src/backends/microvm/plan.js';
import { qmpConnect, waitStatus } from '../src/backends/microvm/qmp.js';
import { nowMs } from './stats.js';

/** What a bare QEMU needs: the tools and the cached artifacts the backend uses. */
export interface BareQemuInputs {
  qemu: string;
  qemuImg: string;
  accel: Accel;
  tscKhz?: number;
  kernel: string;
  initrd: string;
  /** The template's read-only ext4 image (the bottom of every VM's disk chain). */
  image: string;
  shape: VmShape;
}

/**
 * The inputs the backend would use for `shape` on this host, from the machine-wide cache (the
 * tier has already built them), and the template snapshot's directory when it exists.
 */
export async function resolveBareInputs(accel: Accel, rootfsPath: string, shape: VmShape): Promise<{ inputs: BareQemuInputs; templateSnapshotDir: string | undefined }> {
  const cacheDir = resolve(process.env.HUTCH_MICROVM_CACHE ?? '/var/cache/hutch/microvm');
  const probe = await probeHost(DEFAULT_TOOLS);
  const artifacts = await prepareBootArtifacts(cacheDir, DEFAULT_TOOLS);
  const image = (await prepareRootImage(cacheDir, DEFAULT_TOOLS, rootfsPath)).path;
  const inputs: BareQemuInputs = { qemu: DEFAULT_TOOLS.qemu, qemuImg: DEFAULT_TOOLS.qemuImg, accel, kernel: artifacts.kernel, initrd: artifacts.initrd, image, shape };
  if (probe.tscKhz !== undefined) inputs.tscKhz = probe.tscKhz;
  const key = templateSnapshotKey({ kernel: artifacts.kernelPackage, initrd: artifacts.initrdDigest, image, accel, qemuVersion: probe.qemuVersion ?? 'unknown', shape });
  const dir = join(cacheDir, 'tsnap', key);
  return { inputs, templateSnapshotDir: (await exists(join(dir, 'meta.json'))) ? dir : undefined };
}

/** One bare VM's files, all in `<dir>/<name>/` (names as the backend's, see `vmPaths`). */
export interface BareVm {
  name: string;
  dir: string;
  disk: string;
  qmpSocket: string;
  agentSocket: string;
  pidFile: string;
  consoleLog: string;
}

export function bareVm(dir: string, n: number): BareVm {
  const name = `hutch-bench-bare-${n}`;
  const own = join(dir, name);
  return { name, dir: own, disk: join(own, 'disk.qcow2'), qmpSocket: join(own, 'q.sock'), agentSocket: join(own, 'a0.sock'), pidFile: join(own, 'qemu.pid'), consoleLog: join(own, 'console.log') };
}

/**
 * The QEMU plan of a bare VM. Pure. `memory` is the guest RAM (anonymous for a boot, the template
 * snapshot's RAM file mapped privately for a restore); `incoming` adds `-S -incoming defer`.
 */
export function bareQemuPlan(inputs: BareQemuInputs, vm: BareVm, memory: GuestMemory, incoming: boolean): QemuPlan {
  const plan: QemuPlan = {
    qemuBinary: inputs.qemu,
    accel: inputs.accel,
    name: vm.name,
    shape: inputs.shape,
    kernel: inputs.kernel,
    initrd: inputs.initrd,
    disk: vm.disk,
    memory,
    qmpSocket: vm.qmpSocket,
    agentSocket: vm.agentSocket,
    pidFile: vm.pidFile,
    consoleLog: vm.consoleLog,
    incoming,
  };
  if (inputs.tscKhz !== undefined) plan.tscKhz = inputs.tscKhz;
  return plan;
}

/** A QEMU child with its stderr tail and a promise of its exit. */
interface Running {
  child: ChildProcess;
  exited: Promise<void>;
  stderr: () => string;
}

function spawnQemu(inputs: BareQemuInputs, argv: string[]): Running {
  const child = spawn(inputs.qemu, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  return { child, exited, stderr: () => stderr };
}

/** Runs `fn` with a fresh directory for `vm`; kills its QEMU and removes the directory afterwards. */
async function withBareVm<T>(vm: BareVm, fn: (track: (r: Running) => Running) => Promise<T>): Promise<T> {
  await rm(vm.dir, { recursive: true, force: true });
  await mkdir(vm.dir, { recursive: true, mode: 0o700 });
  let running: Running | undefined;
  try {
    return await fn((r) => (running = r));
  } catch (err) {
    throw new Error(`bare QEMU ${vm.name}: ${(err as Error).message}; stderr: ${running?.stderr().trim() ?? ''}`, { cause: err });
  } finally {
    if (running && running.child.exitCode === null && running.child.signalCode === null) {
      running.child.kill('SIGKILL');
      await running.exited;
    }
    await rm(vm.dir, { recursive: true, force: true });
  }
}

/** Spawn → agent's first answer (ms), on an agent socket that QEMU serves. */
async function firstAnswer(vm: BareVm, t0: number, timeoutMs: number): Promise<number> {
  const agent = await connectAgent(vm.agentSocket, { onEvent: () => undefined, onClose: () => undefined }, { timeoutMs });
  try {
    await agent.request('stat', { path: '/' }, { timeoutMs });
    return nowMs() - t0;
  } finally {
    agent.close();
  }
}

/** `-S` start → QMP ready → `quit` → exited. Returns both times (ms from spawn). */
export async function bareStart(inputs: BareQemuInputs, dir: string, n: number): Promise<{ qmpReadyMs: number; exitedMs: number }> {
  const vm = bareVm(dir, n);
  return withBareVm(vm, async (track) => {
    await runTool([inputs.qemuImg, 'create', '-q', '-f', 'qcow2', '-b', inputs.image, '-F', 'raw', vm.disk]);
    const t0 = nowMs();
    const running = track(spawnQemu(inputs, [...qemuArgv(bareQemuPlan(inputs, vm, { kind: 'ram' }, false)), '-S']));
    const qmp = await qmpConnect(vm.qmpSocket, { timeoutMs: 30_000 });
    const qmpReadyMs = nowMs() - t0;
    // QEMU may close the monitor before it answers `quit`; the exit is what counts.
    await qmp.execute('quit').catch(() => undefined);
    qmp.close();
    await running.exited;
    return { qmpReadyMs, exitedMs: nowMs() - t0 };
  });
}

/** Cold boot of the template image (via a fresh qcow2 overlay) → the agent's first answer (ms). */
export async function bareColdBoot(inputs: BareQemuInputs, dir: string, n: number): Promise<number> {
  const vm = bareVm(dir, n);
  return withBareVm(vm, async (track) => {
    await runTool([inputs.qemuImg, 'create', '-q', '-f', 'qcow2', '-b', inputs.image, '-F', 'raw', vm.disk]);
    const t0 = nowMs();
    track(spawnQemu(inputs, qemuArgv(bareQemuPlan(inputs, vm, { kind: 'ram' }, false))));
    return firstAnswer(vm, t0, 180_000);
  });
}

/** Restore of the template snapshot in `snapshotDir` → the agent's first answer; and the overlay time (ms). */
export async function bareRestore(inputs: BareQemuInputs, snapshotDir: string, dir: string, n: number): Promise<{ overlayMs: number; restoreMs: number }> {
  const vm = bareVm(dir, n);
  return withBareVm(vm, async (track) => {
    const o0 = nowMs();
    await runTool([inputs.qemuImg, 'create', '-q', '-f', 'qcow2', '-b', join(snapshotDir, 'disk.qcow2'), '-F', 'qcow2', vm.disk]);
    const overlayMs = nowMs() - o0;
    const t0 = nowMs();
    const memory: GuestMemory = { kind: 'file', path: join(snapshotDir, 'ram.bin'), shared: false };
    track(spawnQemu(inputs, qemuArgv(bareQemuPlan(inputs, vm, memory, true))));
    const qmp = await qmpConnect(vm.qmpSocket, { timeoutMs: 30_000 });
    try {
      await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'x-ignore-shared', state: true }] });
      await qmp.execute('migrate-incoming', { uri: migrateFromFileUri(join(snapshotDir, 'state.bin')) });
      await waitStatus(qmp, ['paused', 'running'], 60_000);
      // Connect before the guest runs, as the backend does: the port never sees the host absent.
      const channel = await connectAgent(vm.agentSocket, { onEvent: () => undefined, onClose: () => undefined }, { timeoutMs: 30_000 });
      try {
        await qmp.execute('cont');
        await channel.request('stat', { path: '/' }, { timeoutMs: 60_000 });
      } finally {
        channel.close();
      }
      return { overlayMs, restoreMs: nowMs() - t0 };
    } finally {
      qmp.close();
    }
  });
}
