/**
 * Pure planning for the microVM tier: a sandbox spec and the boot artifacts → the QEMU command line,
 * the guest kernel command line, the per-VM host paths and the template-snapshot key. Nothing here
 * touches the filesystem or spawns; `lifecycle.ts` and `snapshots.ts` act on what these return.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { BadRequestError } from '../../domain/errors.js';
import { needsEgress } from '../../domain/network-rules.js';
import type { SandboxSpec } from '../../domain/sandbox.js';

export type Accel = 'kvm' | 'tcg';

/** Defaults of a VM when the request names no resources. */
export const DEFAULT_VCPUS = 1;
export const DEFAULT_MEMORY_MIB = 256;
/** Linux 6.1 touches ~110 MiB while booting: below this the guest does not come up reliably. */
export const MIN_MEMORY_MIB = 160;

/** Host files of one VM, all under `<dataDir>/vms/<id>` so that reclaim needs only the id. */
export interface VmPaths {
  dir: string;
  disk: string;
  qmpSocket: string;
  pidFile: string;
  consoleLog: string;
  stderrLog: string;
  /** Backend-private config (spec incl. env, mode 0600). */
  config: string;
}

/** `<dataDir>/vms/<id>`. Socket names are short: a unix socket path is limited to 107 bytes. */
export function vmPaths(dataDir: string, sandboxId: string): VmPaths {
  const dir = join(dataDir, 'vms', sandboxId);
  return {
    dir,
    disk: join(dir, 'disk.qcow2'),
    qmpSocket: join(dir, 'q.sock'),
    pidFile: join(dir, 'qemu.pid'),
    consoleLog: join(dir, 'console.log'),
    stderrLog: join(dir, 'qemu.err'),
    config: join(dir, 'config.json'),
  };
}

/** The agent socket of generation `n` (a new generation is made when another host process adopts the VM). */
export function agentSocketPath(paths: VmPaths, generation: number): string {
  return join(paths.dir, `a${generation}.sock`);
}

/** What the VM looks like to QEMU; equal shapes can restore each other's snapshots. */
export interface VmShape {
  vcpus: number;
  memoryMib: number;
  /** `none`: no network device. `internet`: a user-mode NIC behind the egress proxy (modes internet and rules). */
  network: 'none' | 'internet';
}

/** Resources of the request → VM shape. vcpus are whole (0.5 → 1); memory has a floor. */
export function vmShape(spec: Pick<SandboxSpec, 'resources' | 'network'>): VmShape {
  const vcpus = Math.max(1, Math.ceil(spec.resources.vcpus ?? DEFAULT_VCPUS));
  const memoryMib = Math.ceil(spec.resources.memoryMib ?? DEFAULT_MEMORY_MIB);
  if (memoryMib < MIN_MEMORY_MIB) {
    throw new BadRequestError(`The microvm backend needs at least ${MIN_MEMORY_MIB} MiB of memory (asked for ${memoryMib}).`, { field: 'resources.memoryMib' });
  }
  if (vcpus > 16) throw new BadRequestError(`At most 16 vcpus per microVM (asked for ${vcpus}).`, { field: 'resources.vcpus' });
  // Any policy that needs egress gets the NIC; the egress proxy enforces the policy (network.ts).
  return { vcpus, memoryMib, network: needsEgress(spec.network) ? 'internet' : 'none' };
}

/** Guest RAM: anonymous, or a file (shared: written through, for a template snapshot; private: copy-on-write clone). */
export type GuestMemory = { kind: 'ram' } | { kind: 'file'; path: string; shared: boolean };

export interface QemuPlan {
  qemuBinary: string;
  accel: Accel;
  /** Shown in `ps` and used by reclaim to recognise the process: `hutch-<sandboxId>`. */
  name: string;
  shape: VmShape;
  kernel: string;
  initrd: string;
  disk: string;
  memory: GuestMemory;
  qmpSocket: string;
  agentSocket: string;
  pidFile: string;
  consoleLog: string;
  /** Host TSC frequency for TCG guests (avoids the PIT calibration hang); omitted under KVM. */
  tscKhz?: number;
  /** Start paused, waiting for `migrate-incoming` (a restore). */
  incoming?: boolean;
}

/** The guest kernel command line. Never carries env or secrets: those go over the agent channel. */
export function kernelCmdline(plan: Pick<QemuPlan, 'accel' | 'tscKhz' | 'shape'>): string {
  const args = ['console=ttyS0', 'quiet', 'reboot=t', 'panic=-1', 'pci=off', 'i8042.noaux', 'i8042.nomux', 'i8042.nopnp', 'i8042.dumbkbd'];
  if (plan.accel === 'tcg' && plan.tscKhz) args.push(`tsc_early_khz=${plan.tscKhz}`);
  if (plan.shape.network === 'internet') args.push('hutch.net=user');
  return args.join(' ');
}

/** The full QEMU argv (without the binary) for a cold boot or an incoming restore. */
export function qemuArgv(plan: QemuPlan): string[] {
  const mem = `${plan.shape.memoryMib}M`;
  const memObject =
    plan.memory.kind === 'ram'
      ? `memory-backend-ram,id=mem,size=${mem}`
      : `memory-backend-file,id=mem,size=${mem},mem-path=${plan.memory.path},share=${plan.memory.shared ? 'on' : 'off'}`;
  const argv = [
    '-name', plan.name,
    '-M', 'microvm,memory-backend=mem,x-option-roms=off',
    '-accel', plan.accel === 'tcg' ? 'tcg,tb-size=32' : 'kvm',
    '-cpu', plan.accel === 'kvm' ? 'host' : 'max',
    '-smp', String(plan.shape.vcpus),
    '-m', mem,
    '-object', memObject,
    '-nodefaults', '-no-user-config', '-nographic', '-display', 'none',
    '-serial', `file:${plan.consoleLog}`,
    '-kernel', plan.kernel,
    '-initrd', plan.initrd,
    '-append', kernelCmdline(plan),
    '-drive', `file=${plan.disk},format=qcow2,if=none,id=root,discard=unmap`,
    '-device', 'virtio-blk-device,drive=root',
    '-device', 'virtio-serial-device',
    '-chardev', `socket,id=agent,path=${plan.agentSocket},server=on,wait=off`,
    '-device', 'virtserialport,chardev=agent,name=agent',
    '-qmp', `unix:${plan.qmpSocket},server=on,wait=off`,
    '-pidfile', plan.pidFile,
  ];
  if (plan.shape.network === 'internet') {
    // libslirp inside QEMU, run with the egress shim (network.ts). `restrict=on` would cut the
    // guest off entirely; the host-loopback mapping of 10.0.2.2 is refused by the proxy instead.
    // No tftp=, smb=, hostfwd= or guestfwd=: none of those services exist.
    argv.push('-netdev', 'user,id=net0,ipv6=off', '-device', 'virtio-net-device,netdev=net0');
  }
  if (plan.incoming) argv.push('-S', '-incoming', 'defer');
  return argv;
}

/** Key of a template snapshot: everything that must match for a restore to be valid. */
export function templateSnapshotKey(parts: { kernel: string; initrd: string; image: string; accel: Accel; qemuVersion: string; shape: VmShape }): string {
  const { shape } = parts;
  const text = [parts.kernel, parts.initrd, parts.image, parts.accel, parts.qemuVersion, shape.vcpus, shape.memoryMib, shape.network].join('\n');
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

/** The host's TSC frequency in kHz from /proc/cpuinfo (`cpu MHz`), or undefined. */
export function tscKhzFromCpuinfo(cpuinfo: string): number | undefined {
  const m = /^cpu MHz\s*:\s*([0-9.]+)/m.exec(cpuinfo);
  return m ? Math.round(Number(m[1]) * 1000) : undefined;
}

/** True when the CPU advertises hardware virtualization (vmx or svm) in /proc/cpuinfo. */
export function hasHardwareVirt(cpuinfo: string): boolean {
  return /^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo);
}

/** QMP `migrate` URI writing the stream to `file` (the path is quoted for the shell QEMU runs). */
export function migrateToFileUri(file: string): string {
  return `exec:cat > ${shellQuote(file)}`;
}

export function migrateFromFileUri(file: string): string {
  return `exec:cat ${shellQuote(file)}`;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Host uid/gid of a template file → the id inside the guest (templates are stored shifted for user namespaces). */
export function unshiftId(id: number, base: number, size: number): number {
  return id >= base && id < base + size ? id - base : id;
}
