/**
 * `internet` networking for the host-based tiers: slirp4netns (user-mode TCP/IP) attached to a
 * sandbox's network namespace with `--disable-host-loopback`, so the sandbox reaches the internet
 * through the host's stack but never the host's own loopback services. slirp4netns joins the
 * sandbox's cgroups through hutch-launch (or the Perl prelude where the launcher is missing), so
 * killing the sandbox's cgroups stops it too and reclaim needs no record of it.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, open } from 'node:fs/promises';
import { BackendFailureError, CapabilityMissingError } from '../domain/errors.js';
import { planLaunchInitArgv } from './launcher.js';
import { preludeArgv } from './prelude.js';

/**
 * slirp4netns for a sandbox with egress: never the host's loopback, sandboxed, with its own
 * seccomp, in a private mount namespace (its `--enable-sandbox` unmounts its old root, and with
 * shared propagation that would unmount the host's /run/netns/* entries).
 */
export function planSlirpArgv(initPid: number, readyFd: number, slirpPath = '/usr/bin/slirp4netns', unsharePath = '/usr/bin/unshare'): string[] {
  return [unsharePath, '--mount', '--propagation', 'private', '--', slirpPath, '--configure', '--mtu=65520', '--disable-host-loopback', '--enable-sandbox', '--enable-seccomp', `--ready-fd=${readyFd}`, String(initPid), 'tap0'];
}

export interface SlirpLaunch {
  backend: string;
  sandboxId: string;
  /** Host pid of a process inside the sandbox's network (and user) namespace. */
  initPid: number;
  /** `cgroup.procs` files slirp4netns joins before it starts. */
  cgroupProcs: string[];
  /** Host file for slirp4netns's own output (mode 0600). */
  logFile: string;
  slirpPath: string;
  perlPath: string;
  /** hutch-launch (joins the cgroups; no user namespace); undefined: the Perl prelude. */
  launcherPath?: string;
  timeoutMs?: number;
  /** Extra environment (the egress shim: LD_PRELOAD and its settings). */
  env?: Record<string, string>;
}

/**
 * Attaches slirp4netns and waits until it has configured tap0. Throws `CapabilityMissingError`
 * without slirp4netns and `BackendFailureError` when it does not become ready.
 */
export async function startSlirp(launch: SlirpLaunch): Promise<void> {
  const present = await access(launch.slirpPath, constants.X_OK).then(() => true, () => false);
  if (!present) throw new CapabilityMissingError('network.internet', launch.backend, 'give a sandbox internet access (install slirp4netns)');
  const slirp = planSlirpArgv(launch.initPid, 3, launch.slirpPath);
  const argv = launch.launcherPath
    ? planLaunchInitArgv({ launcher: launch.launcherPath, cgroupProcs: launch.cgroupProcs, keepFds: 4, argv: slirp })
    : preludeArgv({ cgroupProcs: launch.cgroupProcs, argv: slirp }, launch.perlPath);
  const log = await open(launch.logFile, 'w', 0o600);
  try {
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', log.fd, log.fd, 'pipe'], env: { PATH: '/usr/bin:/bin', ...launch.env }, cwd: '/' });
    child.once('error', () => undefined);
    const ready = child.stdio[3] as NodeJS.ReadableStream;
    const ok = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), launch.timeoutMs ?? 10_000);
      ready.once('data', () => {
        clearTimeout(timer);
        resolve(true);
      });
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    (ready as NodeJS.ReadableStream & { destroy(): void }).destroy();
    child.unref();
    if (!ok) throw new BackendFailureError('slirp4netns did not configure the sandbox network.', { sandboxId: launch.sandboxId });
  } finally {
    await log.close();
  }
}
