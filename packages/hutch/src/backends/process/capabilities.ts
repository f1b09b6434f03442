/**
 * Host probe for the process tier: bwrap and its version, the launcher (native/hutch-launch.c,
 * built on first use), nsenter and perl (the fallback launch path), user namespaces, the cgroup layout (v1, v2 or none), slirp4netns, seccomp architecture. The probe
 * reads files and runs `bwrap --version` once; `reportFromProbe` turns the facts into the
 * capability report without touching the host.
 */
import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { release } from 'node:os';
import { promisify } from 'node:util';
import type { Capability, CapabilityReport } from '../../port/capabilities.js';
import { detectCgroupLayout, canFreeze } from '../../host/cgroups.js';
import type { CgroupLayout } from './plan.js';
import { seccompArchFor } from './seccomp.js';
import { ensureShim } from '../../host/egress/shim.js';
import { DEFAULT_AGENT_PATH, DEFAULT_LAUNCHER_PATH, ensureAgent, ensureLauncher } from '../../host/launcher.js';

const run = promisify(execFile);

/** Executables the backend runs, by role. Overridable for hosts with other layouts. */
export interface HostTools {
  bwrap: string;
  nsenter: string;
  perl: string;
  slirp4netns: string;
  tar: string;
  /** hutch-launch; '' disables it (exec and init then go through the Perl prelude and nsenter). */
  launcher: string;
  /** hutch-agent, the in-sandbox exec agent (needs the launcher); '' disables it (every exec goes through the launcher). */
  agent: string;
}

export const DEFAULT_TOOLS: HostTools = {
  bwrap: '/usr/bin/bwrap',
  nsenter: '/usr/bin/nsenter',
  perl: '/usr/bin/perl',
  slirp4netns: '/usr/bin/slirp4netns',
  tar: '/usr/bin/tar',
  launcher: DEFAULT_LAUNCHER_PATH,
  agent: DEFAULT_AGENT_PATH,
};

export interface HostProbe {
  os: string;
  arch: string;
  kernel: string;
  isRoot: boolean;
  bwrapVersion?: string;
  nsenter: boolean;
  perl: boolean;
  tar: boolean;
  slirp4netns: boolean;
  /** The egress shim is built (or was built now): network goes only through the egress proxy. */
  egressShim?: boolean;
  /** Path of the usable launcher (built now if needed), or undefined: the Perl fallback is used. */
  launcher?: string;
  /** Path of the usable exec agent (built now if needed), or undefined: exec goes through the launcher. */
  agent?: string;
  userns: boolean;
  cgroups: CgroupLayout;
}

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Probes the host (a few file reads and one `bwrap --version`). */
export async function probeHost(tools: HostTools): Promise<HostProbe> {
  let bwrapVersion: string | undefined;
  if (await executable(tools.bwrap)) {
    const out = await run(tools.bwrap, ['--version'], { timeout: 5000 }).catch(() => undefined);
    bwrapVersion = out?.stdout.trim().replace(/^bubblewrap\s*/, '') || 'unknown';
  }
  const maxUserNs = await readFile('/proc/sys/user/max_user_namespaces', 'utf8').catch(() => '0');
  return {
    os: process.platform,
    arch: process.arch,
    kernel: release(),
    isRoot: process.getuid?.() === 0,
    bwrapVersion,
    nsenter: await executable(tools.nsenter),
    perl: await executable(tools.perl),
    tar: await executable(tools.tar),
    slirp4netns: await executable(tools.slirp4netns),
    egressShim: await ensureShim(),
    launcher: tools.launcher ? await ensureLauncher(tools.launcher) : undefined,
    agent: tools.launcher && tools.agent ? await ensureAgent(tools.agent) : undefined,
    userns: Number(maxUserNs.trim()) > 0,
    cgroups: process.platform === 'linux' ? await detectCgroupLayout().catch((): CgroupLayout => ({ mode: 'none' })) : { mode: 'none' },
  };
}

/** Prerequisites missing for the backend to run at all. */
export function missingPrerequisites(probe: HostProbe): string[] {
  const missing: string[] = [];
  if (probe.os !== 'linux') missing.push('Linux');
  if (!probe.isRoot) missing.push('running as root (the process tier writes uid maps and cgroups)');
  if (!probe.bwrapVersion) missing.push('bwrap (Debian package bubblewrap)');
  if (!probe.nsenter) missing.push('nsenter (util-linux)');
  if (!probe.perl) missing.push('perl (perl-base)');
  if (!probe.userns) missing.push('user namespaces (user.max_user_namespaces > 0)');
  if (!seccompArchFor(probe.arch)) missing.push(`seccomp support for ${probe.arch}`);
  return missing;
}

/** The capability report for a probe (pure). */
export function reportFromProbe(probe: HostProbe): CapabilityReport {
  const missing = missingPrerequisites(probe);
  const caps: Capability[] = [
    'lifecycle.stop', 'exec.stdin', 'exec.signal', 'exec.pty', 'exec.timeout', 'exec.user', 'exec.background',
    'files', 'files.watch', 'fs.read_only_root', 'fs.writable_layer', 'network.none', 'network.port_forward',
    'recovery.adopt', 'recovery.reclaim', 'seccomp', 'templates', 'workspaces',
  ];
  const cg = probe.cgroups;
  if (cg.mode !== 'none') {
    caps.push('limits.memory', 'limits.pids', 'stats');
    if (cg.mode === 'v1' ? cg.mounts.cpu !== undefined : cg.controllers.includes('cpu')) caps.push('limits.cpu');
    if (canFreeze(cg)) caps.push('lifecycle.pause');
  }
  // Network exists only through the egress proxy: without the shim, no network at all.
  if (probe.slirp4netns && probe.egressShim) caps.push('network.internet', 'network.egress_rules');
  if (probe.tar) caps.push('snapshot.filesystem', 'snapshot.export');
  const notes: Record<string, string> = {
    cgroups: cg.mode,
    userns: 'ids 0-65535 mapped to host 100000-165535',
    'limits.disk': 'not enforced (workspace is a host directory)',
  };
  if (cg.mode === 'none') notes.limits = 'no usable cgroup hierarchy: memory, pids and cpu limits are not enforced';
  return {
    kind: 'process',
    version: `process/1 bwrap ${probe.bwrapVersion ?? 'missing'}`,
    health: missing.length > 0 ? { status: 'unsupported_host', missing } : cg.mode === 'none' ? { status: 'degraded', reason: 'no cgroup limits on this host' } : { status: 'healthy' },
    platform: { os: probe.os, arch: probe.arch, kernel: probe.kernel, emulated: false },
    capabilities: missing.length > 0 ? [] : caps.sort(),
    notes,
  };
}
