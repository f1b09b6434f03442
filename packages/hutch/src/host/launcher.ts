/**
 * The launcher, native/hutch-launch.c (see its header for what it does and why): where it is,
 * building it (and the exec agent it starts) on first use, and the pure argv planners of its modes.
 *
 * - `init`: join the sandbox's cgroups, create the user namespace (ids 0..65535 → the sandbox's
 *   host range), exec bwrap. Replaces the Perl prelude in front of the init.
 * - `exec`: join the cgroups, setns into every namespace of the init (user first), chroot to its
 *   root, install the seccomp filter, fork into the pid namespace, drop to the user, report the
 *   in-sandbox pid (fd, or OSC for PTYs), cd and exec. Replaces prelude + nsenter + `sh` wrapper,
 *   with the same contract towards host/exec-process.ts and the same exit codes (126 for a cwd
 *   that cannot be entered, 127 for a missing command). With `listen` (planLaunchAgentArgv) it
 *   starts the process tier's exec agent instead.
 * - `listen`: bind the exec agent's host socket, open the agent binary, pass both as fds 3 and 4
 *   to a command (the container tier's `crun run`, whose pid 1 is then the agent).
 *
 * It is linked statically: it runs as host root with the exec's environment, which a dynamic
 * loader would read (LD_PRELOAD, LD_LIBRARY_PATH). scripts/setup.sh builds it; without gcc or a
 * static libc it is missing, and the tier falls back to the Perl prelude + nsenter.
 */
import { fileURLToPath } from 'node:url';
import { ensureNative } from './native-build.js';

/** dist/src/host → packages/hutch/native. */
export const LAUNCHER_SOURCE = fileURLToPath(new URL('../../../native/hutch-launch.c', import.meta.url));
export const DEFAULT_LAUNCHER_PATH = fileURLToPath(new URL('../../../native/build/hutch-launch', import.meta.url));
/** The in-sandbox exec agent (native/hutch-agent.c), started in a sandbox by `hutch-launch exec -L -x`. */
export const AGENT_SOURCE = fileURLToPath(new URL('../../../native/hutch-agent.c', import.meta.url));
export const DEFAULT_AGENT_PATH = fileURLToPath(new URL('../../../native/build/hutch-agent', import.meta.url));

/** Builds the launcher unless it is up to date; returns its path, or undefined when unusable. */
export async function ensureLauncher(path = DEFAULT_LAUNCHER_PATH, gcc = '/usr/bin/gcc'): Promise<string | undefined> {
  const build = { source: LAUNCHER_SOURCE, output: path, flags: ['-static', '-O2', '-Wall'] };
  return (await ensureNative(build, gcc)) ? path : undefined;
}

/** Builds the exec agent unless it is up to date; returns its path, or undefined when unusable. */
export async function ensureAgent(path = DEFAULT_AGENT_PATH, gcc = '/usr/bin/gcc'): Promise<string | undefined> {
  const build = { source: AGENT_SOURCE, output: path, flags: ['-static', '-O2', '-Wall'] };
  return (await ensureNative(build, gcc)) ? path : undefined;
}

/**
 * The launcher's environment for an exec: the command's, except GLIBC_TUNABLES, which is passed as
 * HUTCH_SANDBOX_GLIBC_TUNABLES and restored by the launcher inside the sandbox just before exec.
 */
export function launcherExecEnv(env: Record<string, string>): Record<string, string> {
  if (env.GLIBC_TUNABLES === undefined) return env;
  const { GLIBC_TUNABLES: tunables, ...rest } = env;
  return { ...rest, HUTCH_SANDBOX_GLIBC_TUNABLES: tunables };
}

export interface LaunchInitInput {
  launcher: string;
  /** `cgroup.procs` files joined before anything else runs. */
  cgroupProcs: string[];
  /** Map ids 0..65535 of a new user namespace onto host ids from here; undefined: no userns. */
  usernsHostBase?: number;
  /** bwrap gets fds 0..keepFds-1 (its --seccomp and --info-fd below that); the rest are closed. */
  keepFds: number;
  argv: string[];
}

/** Pure: `hutch-launch init` in front of `argv` (bwrap). */
export function planLaunchInitArgv(input: LaunchInitInput): string[] {
  return [
    input.launcher, 'init',
    ...input.cgroupProcs.flatMap((f) => ['-c', f]),
    ...(input.usernsHostBase === undefined ? [] : ['-U', String(input.usernsHostBase)]),
    '-k', String(input.keepFds),
    '--', ...input.argv,
  ];
}

export interface LaunchExecInput {
  launcher: string;
  initPid: number;
  cgroupProcs: string[];
  /** Host path of the BPF filter installed before the fork. */
  seccompFile?: string;
  uid: number;
  gid: number;
  cwd: string;
  /** `cmd`+`args`, or a shell string run with bash -lc (sh -c without bash). */
  cmd?: string;
  args?: string[];
  shell?: string;
  /** Fd (in the launcher) for the pid report; undefined (PTY): printed as OSC on stdout. */
  pidFd?: number;
  /** Start the exec agent: bind its host socket, exec its binary by fd, shield it from the OOM killer. */
  listen?: { socket: string; agent: string };
}

export interface LaunchAgentInput {
  launcher: string;
  agent: string;
  /** Host path of the agent's listening socket (bound by the launcher before it enters the sandbox). */
  socket: string;
  initPid: number;
  cgroupProcs: string[];
  seccompFile?: string;
}

/** Pure: `hutch-launch exec` that starts the exec agent as the sandbox's root, shielded from the OOM killer. */
export function planLaunchAgentArgv(input: LaunchAgentInput): string[] {
  const { socket, agent, ...where } = input;
  return planLaunchExecArgv({ ...where, uid: 0, gid: 0, cwd: '/', listen: { socket, agent }, cmd: 'hutch-agent' });
}

/** Pure: `hutch-launch listen` in front of `argv` (a runtime call that passes fds 3 and 4 on). */
export function planLaunchListenArgv(launcher: string, agent: string, socket: string, argv: string[] = []): string[] {
  return [launcher, 'listen', '-L', socket, '-x', agent, '-O', '--', ...argv];
}

/** Pure: `hutch-launch exec` for one command. */
export function planLaunchExecArgv(input: LaunchExecInput): string[] {
  return [
    input.launcher, 'exec',
    '-t', String(input.initPid),
    ...input.cgroupProcs.flatMap((f) => ['-c', f]),
    ...(input.seccompFile === undefined ? [] : ['-s', input.seccompFile]),
    '-u', String(input.uid), '-g', String(input.gid),
    '-d', input.cwd,
    ...(input.listen === undefined ? [] : ['-L', input.listen.socket, '-x', input.listen.agent, '-O']),
    ...(input.pidFd === undefined ? [] : ['-p', String(input.pidFd)]),
    ...(input.shell !== undefined ? ['-S', '--', input.shell] : ['--', input.cmd ?? 'true', ...(input.args ?? [])]),
  ];
}
