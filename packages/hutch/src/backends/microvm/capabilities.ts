/**
 * Host probe → capability report for the microVM tier. Acceleration is explicit: `kvm` only when
 * the CPU has vmx/svm and /dev/kvm is usable; `tcg` only when the caller opted in, and then the
 * report says the VM is emulated and is not a security boundary. Never a silent fallback.
 */
import { execFile } from 'node:child_process';
import { access, constants, readFile } from 'node:fs/promises';
import { release } from 'node:os';
import type { Capability, CapabilityReport } from '../../port/capabilities.js';
import { ensureShim } from '../../host/egress/shim.js';
import type { MicrovmTools } from './context.js';
import { hasHardwareVirt, tscKhzFromCpuinfo, type Accel } from './plan.js';

/** What the caller asked for: `auto` (= kvm or nothing), `kvm`, or the explicit `tcg` opt-in. */
export type AccelRequest = 'auto' | 'kvm' | 'tcg';

export interface HostProbe {
  arch: string;
  kernel: string;
  hardwareVirt: boolean;
  devKvm: boolean;
  tscKhz: number | undefined;
  qemuVersion: string | null;
  missingTools: string[];
  /** The egress shim is built (or buildable): network modes internet and rules. */
  egressShim?: boolean;
  /** Set after a guest failed to boot under KVM on this host. */
  kvmBootFailure?: string;
}

export async function probeHost(tools: MicrovmTools, shimPath?: string): Promise<HostProbe> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const missingTools: string[] = [];
  for (const [name, path] of Object.entries(tools) as Array<[keyof MicrovmTools, string]>) {
    if (!(await access(path, constants.X_OK).then(() => true, () => false))) missingTools.push(`${path} (${TOOL_PACKAGES[name]})`);
  }
  const qemuVersion = await new Promise<string | null>((resolve) =>
    execFile(tools.qemu, ['--version'], (err, stdout) => resolve(err ? null : /version ([^\s]+)/.exec(stdout)?.[1] ?? 'unknown')),
  );
  return {
    arch: process.arch,
    kernel: release(),
    hardwareVirt: hasHardwareVirt(cpuinfo),
    devKvm: await access('/dev/kvm', constants.R_OK | constants.W_OK).then(() => true, () => false),
    tscKhz: tscKhzFromCpuinfo(cpuinfo),
    qemuVersion,
    missingTools,
    egressShim: await ensureShim(shimPath),
  };
}

const TOOL_PACKAGES: Record<keyof MicrovmTools, string> = {
  qemu: 'Debian package qemu-system-x86',
  qemuImg: 'qemu-utils',
  mkfsExt4: 'e2fsprogs',
  busybox: 'busybox-static',
  aptGet: 'apt',
  aptCache: 'apt',
  dpkg: 'dpkg',
};

/** The acceleration to use, or the missing prerequisites. Pure. */
export function resolveAccel(probe: HostProbe, request: AccelRequest): { accel: Accel } | { missing: string[] } {
  if (request === 'tcg') return { accel: 'tcg' };
  const missing: string[] = [];
  if (probe.arch !== 'x64') missing.push(`an x86_64 host (this is ${probe.arch})`);
  if (!probe.hardwareVirt) missing.push('hardware virtualization (vmx/svm in /proc/cpuinfo); opt in to emulation with accel "tcg" (HUTCH_MICROVM_ACCEL=tcg), which is not a security boundary');
  else if (!probe.devKvm) missing.push('read/write access to /dev/kvm');
  if (probe.kvmBootFailure) missing.push(`a guest that boots under KVM (${probe.kvmBootFailure})`);
  return missing.length ? { missing } : { accel: 'kvm' };
}

/** Every prerequisite the host lacks for `request` (empty: supported). */
export function missingPrerequisites(probe: HostProbe, request: AccelRequest): string[] {
  const missing = [...probe.missingTools];
  if (probe.arch !== 'x64') missing.push(`an x86_64 host (this is ${probe.arch})`);
  const accel = resolveAccel(probe, request);
  if ('missing' in accel) missing.push(...accel.missing.filter((m) => !missing.includes(m)));
  return missing;
}

const SUPPORTED: Capability[] = [
  'lifecycle.stop',
  'lifecycle.pause',
  'exec.stdin',
  'exec.signal',
  'exec.pty',
  'exec.timeout',
  'exec.user',
  'exec.background',
  'files',
  'files.watch',
  'fs.writable_layer',
  'limits.memory',
  'limits.cpu',
  'network.none',
  'network.port_forward',
  'stats',
  'snapshot.filesystem',
  'snapshot.memory',
  'recovery.adopt',
  'recovery.reclaim',
  'templates',
];

export function reportFromProbe(probe: HostProbe, request: AccelRequest): CapabilityReport {
  const missing = missingPrerequisites(probe, request);
  const accel = resolveAccel(probe, request);
  const emulated = 'accel' in accel && accel.accel === 'tcg';
  const notes: Record<string, string> = {
    accel: 'accel' in accel ? accel.accel : 'none',
    machine: 'qemu microvm, virtio-mmio, virtio-serial agent',
    network: probe.egressShim
      ? 'none: no network device at all. internet/rules: a user-mode NIC (QEMU libslirp) whose every connection and lookup goes through the egress proxy, as on the other tiers. Ports are forwarded through the guest agent'
      : 'none: no network device at all (internet/rules need the egress shim: install gcc). Ports are forwarded through the guest agent',
  };
  if (emulated) notes.emulated = 'emulated: not a security boundary (QEMU TCG; use a host with vmx/svm for hardware isolation)';
  return {
    kind: 'microvm',
    version: `microvm/1 qemu ${probe.qemuVersion ?? 'missing'}`,
    health: missing.length > 0 ? { status: 'unsupported_host', missing } : { status: 'healthy' },
    platform: { os: 'linux', arch: probe.arch, kernel: probe.kernel, emulated },
    capabilities: missing.length > 0 ? [] : probe.egressShim ? [...SUPPORTED, 'network.internet', 'network.egress_rules'] : SUPPORTED,
    notes,
  };
}
