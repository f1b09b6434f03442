/**
 * Host probe for the container tier: the OCI runtime (crun, runc or runsc) and its version,
 * overlayfs, user namespaces, root, the cgroup layout and whether crun needs the hybrid-mode
 * workaround, unshare, slirp4netns, perl (the prelude slirp4netns joins cgroups with), nsenter
 * (the port-forward relay joins the container's network namespace with it) and tar.
 * `reportFromProbe` turns the facts into the capability report without touching the host.
 */
import { ensureShim } from '../../host/egress/shim.js';
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { release } from 'node:os';
import { promisify } from 'node:util';
import type { Capability, CapabilityReport } from '../../port/capabilities.js';
import type { CgroupLayout } from '../../host/cgroup-plan.js';
import { canFreeze, detectCgroupLayout } from '../../host/cgroups.js';
import type { RuntimeKind } from './plan.js';

const run = promisify(execFile);

/** Executables the backend runs, by role. */
export interface ContainerTools {
  crun: string;
  runc: string;
  runsc: string;
  unshare: string;
  slirp4netns: string;
  perl: string;
  nsenter: string;
  tar: string;
  /** The hutch-mntns helper (runtime-ns.ts); default: native/build/hutch-mntns, built on first use. */
  mntns?: string;
  /**
   * hutch-launch and hutch-agent, which start the in-container exec agent (agent.ts); default:
   * native/build, built on first use; '' for either disables the agent (every exec is a `crun exec`).
   */
  launcher?: string;
  agent?: string;
}

export const DEFAULT_TOOLS: ContainerTools = {
  crun: '/usr/bin/crun',
  runc: '/usr/sbin/runc',
  runsc: '/usr/bin/runsc',
  unshare: '/usr/bin/unshare',
  slirp4netns: '/usr/bin/slirp4netns',
  perl: '/usr/bin/perl',
  nsenter: '/usr/bin/nsenter',
  tar: '/usr/bin/tar',
};

export interface ContainerProbe {
  os: string;
  arch: string;
  kernel: string;
  isRoot: boolean;
  /** The runtime chosen (the asked one, else crun, else runc) and its version; undefined if absent. */
  runtime: RuntimeKind;
  runtimePath: string;
  runtimeVersion?: string;
  overlay: boolean;
  userns: boolean;
  unshare: boolean;
  slirp4netns: boolean;
  /** The egress shim is built (or was built now): network goes only through the egress proxy. */
  egressShim?: boolean;
  perl: boolean;
  /** nsenter exists: port forwarding (a relay in the container's network namespace). */
  nsenter: boolean;
  tar: boolean;
  cgroups: CgroupLayout;
  /** Mount point of a cgroup2 beside v1 hierarchies (hybrid layout), which crun 1.x refuses. */
  hybridCgroup2?: string;
}

async function executable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(() => true, () => false);
}

async function which(names: string[], dirs = ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin']): Promise<string | undefined> {
  for (const name of names) for (const dir of dirs) if (await executable(`${dir}/${name}`)) return `${dir}/${name}`;
  return undefined;
}

/** Pure: the cgroup2 mount point when cgroup v1 hierarchies are mounted too. */
export function hybridCgroup2Mount(mountinfo: string): string | undefined {
  let v1 = false;
  let v2: string | undefined;
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fsType = line.slice(sep + 3).split(' ')[0];
    if (fsType === 'cgroup') v1 = true;
    if (fsType === 'cgroup2') v2 ??= line.slice(0, sep).split(' ')[4];
  }
  return v1 ? v2 : undefined;
}

/** Probes the host (file reads and one `<runtime> --version`). */
export async function probeHost(tools: ContainerTools, wanted?: RuntimeKind): Promise<ContainerProbe> {
  const located: Record<RuntimeKind, string | undefined> = {
    crun: (await executable(tools.crun)) ? tools.crun : await which(['crun']),
    runc: (await executable(tools.runc)) ? tools.runc : await which(['runc']),
    runsc: (await executable(tools.runsc)) ? tools.runsc : await which(['runsc']),
  };
  const runtime: RuntimeKind = wanted ?? (located.crun ? 'crun' : located.runc ? 'runc' : 'crun');
  const runtimePath = located[runtime] ?? tools[runtime];
  let runtimeVersion: string | undefined;
  if (located[runtime]) {
    const out = await run(runtimePath, ['--version'], { timeout: 5000 }).catch(() => undefined);
    runtimeVersion = out?.stdout.split('\n')[0]?.replace(/^(crun|runc|runsc) version /, '').trim() || 'unknown';
  }
  const filesystems = await readFile('/proc/filesystems', 'utf8').catch(() => '');
  const maxUserNs = await readFile('/proc/sys/user/max_user_namespaces', 'utf8').catch(() => '0');
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return {
    os: process.platform,
    arch: process.arch,
    kernel: release(),
    isRoot: process.getuid?.() === 0,
    runtime,
    runtimePath,
    runtimeVersion,
    overlay: /\toverlay$/m.test(filesystems),
    userns: Number(maxUserNs.trim()) > 0,
    unshare: await executable(tools.unshare),
    slirp4netns: await executable(tools.slirp4netns),
    egressShim: await ensureShim(),
    perl: await executable(tools.perl),
    nsenter: await executable(tools.nsenter),
    tar: await executable(tools.tar),
    cgroups: process.platform === 'linux' ? await detectCgroupLayout().catch((): CgroupLayout => ({ mode: 'none' })) : { mode: 'none' },
    hybridCgroup2: hybridCgroup2Mount(mountinfo),
  };
}

/** Prerequisites missing for the backend to run at all. */
export function missingPrerequisites(probe: ContainerProbe): string[] {
  const missing: string[] = [];
  if (probe.os !== 'linux') missing.push('Linux');
  if (!probe.isRoot) missing.push('running as root (the container tier mounts overlays and owns cgroups)');
  if (!probe.runtimeVersion) missing.push(`${probe.runtime} (Debian package ${probe.runtime === 'runsc' ? 'runsc from gVisor' : probe.runtime})`);
  if (!probe.overlay) missing.push('overlayfs (the template is the read-only lower layer)');
  if (!probe.userns) missing.push('user namespaces (user.max_user_namespaces > 0)');
  if (probe.cgroups.mode === 'none') missing.push('a cgroup hierarchy with memory and pids');
  if (probe.runtime === 'crun' && probe.hybridCgroup2 && !probe.unshare) missing.push('unshare (util-linux), for the hybrid-cgroup workaround');
  return missing;
}

/** The capability report for a probe (pure). */
export function reportFromProbe(probe: ContainerProbe): CapabilityReport {
  const missing = missingPrerequisites(probe);
  const caps: Capability[] = [
    'lifecycle.stop', 'exec.stdin', 'exec.signal', 'exec.pty', 'exec.timeout', 'exec.user', 'exec.background',
    'files', 'files.watch', 'fs.writable_layer', 'network.none', 'limits.memory', 'limits.pids', 'stats',
    'recovery.adopt', 'recovery.reclaim', 'seccomp', 'templates', 'workspaces',
  ];
  const cg = probe.cgroups;
  if (cg.mode === 'v1' ? cg.mounts.cpu !== undefined : cg.mode === 'v2' && cg.controllers.includes('cpu')) caps.push('limits.cpu');
  if (canFreeze(cg)) caps.push('lifecycle.pause');
  // Network exists only through the egress proxy: without the shim, no network at all.
  if (probe.slirp4netns && probe.perl && probe.egressShim) caps.push('network.internet', 'network.egress_rules');
  if (probe.nsenter) caps.push('network.port_forward');
  if (probe.tar) caps.push('snapshot.filesystem', 'snapshot.export');
  const notes: Record<string, string> = {
    runtime: `${probe.runtime} ${probe.runtimeVersion ?? 'missing'}`,
    cgroups: cg.mode,
    userns: 'ids 0-65535 mapped to host 100000-165535',
    templates: 'a template root is required (spec.rootfsPath; the engine passes one for every template, e.g. base)',
    'limits.disk': 'not enforced (the writable layer is a host directory)',
    'network.port_forward': probe.nsenter ? "a relay joins the container's network namespace (nsenter) and connects to its loopback" : 'not offered: nsenter (util-linux) is missing',
    'snapshot.memory': 'not offered (crun here is built without CRIU)',
  };
  if (probe.runtime === 'crun' && probe.hybridCgroup2) notes.hybrid = `cgroup v1 with a cgroup2 at ${probe.hybridCgroup2}: each crun call runs in a private mount namespace without it (one long-lived namespace per backend, joined per call; a throw-away one per call when the hutch-mntns helper cannot be built)`;
  return {
    kind: 'container',
    version: `container/1 ${probe.runtime} ${probe.runtimeVersion ?? 'missing'}`,
    health: missing.length > 0 ? { status: 'unsupported_host', missing } : { status: 'healthy' },
    platform: { os: probe.os, arch: probe.arch, kernel: probe.kernel, emulated: false },
    capabilities: missing.length > 0 ? [] : caps.sort(),
    notes,
  };
}
