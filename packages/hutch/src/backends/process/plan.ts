/**
 * Pure planning for the process tier: sandbox spec → host paths, mount table, bwrap argv, generated
 * /etc files, cgroup writes, exec argv and env. Nothing here touches the filesystem or spawns; every
 * host fact it needs (which top-level dirs are symlinks, which /etc files exist) comes in as input,
 * so `plan.test.ts` runs anywhere.
 *
 * The mount table is the single description of a sandbox's filesystem: `renderBwrapMounts` turns
 * it into bwrap arguments, and the files API maps sandbox paths through the same table, so the
 * API can never see more than the sandbox does.
 */
import { join } from 'node:path';
import type { NetworkPolicy, Resources, SandboxSpec } from '../../domain/sandbox.js';
import type { WorkspaceMounts } from '../../domain/workspace.js';
import { USERNS_HOST_BASE, USERNS_SIZE } from '../../domain/user-namespace.js';
import { CA_BUNDLE_FILE, CA_BUNDLE_PATH } from '../../host/egress/sandbox-ca.js';
import type { MountEntry } from '../../host/mount-table.js';

export {
  CGROUP_CONTROLLERS, CPU_PERIOD_US, cgroupDir, cgroupDirs, cgroupProcsFiles, planCgroupWrites,
  type CgroupController, type CgroupLayout, type CgroupWrite,
} from '../../host/cgroup-plan.js';
export type { MountEntry } from '../../host/mount-table.js';
export { DEFAULT_PATH, parsePasswd, planExecEnv, resolveExecUser, type ExecUser } from '../../host/exec-plan.js';
import { planWrapperArgv, type ExecUser, type WrapperPlanInput } from '../../host/exec-plan.js';

/** Sandbox ids become host path and cgroup components, so they are restricted to a safe alphabet. */
export const SANDBOX_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** In-sandbox ids 0..65535 map to host ids starting here, so sandbox root is never host root. */
export const HOST_ID_BASE = USERNS_HOST_BASE;
export const ID_RANGE = USERNS_SIZE;

/** Host paths of one sandbox, all derived from the data dir and the id (so reclaim needs no record). */
export interface SandboxPaths {
  dir: string;
  workspace: string;
  tmp: string;
  etc: string;
  seccomp: string;
  initLog: string;
  specFile: string;
  /** The exec agent's listening socket (host only; see host/agent-exec.ts). */
  agentSocket: string;
  /** Template mode: the overlay (template below, `upper` above) mounted at `merged`, the root. */
  upper: string;
  work: string;
  merged: string;
}

export function sandboxPaths(dataDir: string, sandboxId: string): SandboxPaths {
  const dir = join(dataDir, 'sandboxes', sandboxId);
  return {
    dir,
    workspace: join(dir, 'workspace'),
    tmp: join(dir, 'tmp'),
    etc: join(dir, 'etc'),
    seccomp: join(dir, 'seccomp.bpf'),
    initLog: join(dir, 'init.log'),
    specFile: join(dir, 'spec.json'),
    agentSocket: join(dir, 'agent.sock'),
    upper: join(dir, 'root', 'upper'),
    work: join(dir, 'root', 'work'),
    merged: join(dir, 'root', 'merged'),
  };
}

/** A top-level entry of the host root (or of a template root) as seen by lstat. */
export interface RootEntry {
  name: string;
  type: 'dir' | 'symlink' | 'file' | 'other';
  target?: string;
}

/** Host system dirs a sandbox may see (read-only) when no template root is given. */
export const HOST_SYSTEM_DIRS = ['usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/** Host /etc entries bound read-only: what the loader, TLS and Debian alternatives need. Nothing
 * else of the host's /etc (passwords, keys, configs with secrets) is visible. */
export const HOST_ETC_ENTRIES = ['ld.so.cache', 'ld.so.conf', 'ld.so.conf.d', 'alternatives', 'ssl/certs', 'ssl/openssl.cnf', 'ca-certificates', 'localtime', 'mime.types'];

/** Generated /etc files (written per sandbox). */
export const GENERATED_ETC_FILES = ['passwd', 'group', 'hosts', 'hostname', 'resolv.conf', 'nsswitch.conf'];

/** Paths of a template root that the sandbox gets from elsewhere, never from the template. */
const SANDBOX_OWNED = new Set(['proc', 'dev', 'sys', 'tmp', 'workspace', 'run']);

export interface MountPlanInput {
  paths: SandboxPaths;
  /** Template root; undefined means the host's system dirs. */
  rootfsPath?: string;
  /** lstat of the candidate top-level entries of the chosen root. */
  rootEntries: RootEntry[];
  /** Mount the generated trust bundle (host roots + the sandbox CA) over the system bundle. */
  caBundle?: boolean;
  /** A codebase's binds (engine-prepared); at `/workspace` they replace the empty workspace. */
  workspace?: WorkspaceMounts;
}


/** Generated /etc files laid over a template's own /etc (it keeps its users and groups). */
export const TEMPLATE_ETC_OVERRIDES = ['hosts', 'hostname', 'resolv.conf'];

/**
 * The mount table of a sandbox (see the module comment). With a template, the root is the
 * sandbox's writable overlay of it (`merged`: copy-on-write, the template is never written);
 * without one, the host's system dirs read-only and a generated /etc.
 */
export function planMounts(input: MountPlanInput): MountEntry[] {
  const { paths, rootfsPath } = input;
  const mounts: MountEntry[] = [];
  if (rootfsPath) {
    mounts.push({ kind: 'bind', path: '/', hostPath: paths.merged, writable: true });
    for (const name of TEMPLATE_ETC_OVERRIDES) mounts.push({ kind: 'bind', path: `/etc/${name}`, hostPath: join(paths.etc, name), writable: false });
  } else {
    for (const entry of [...input.rootEntries].sort((a, b) => a.name.localeCompare(b.name))) {
      if (SANDBOX_OWNED.has(entry.name) || entry.name.includes('/') || !HOST_SYSTEM_DIRS.includes(entry.name)) continue;
      const path = `/${entry.name}`;
      if (entry.type === 'symlink' && entry.target !== undefined) mounts.push({ kind: 'symlink', path, target: entry.target });
      else if (entry.type === 'dir' || entry.type === 'file') mounts.push({ kind: 'bind', path, hostPath: join('/', entry.name), writable: false });
    }
    mounts.push({ kind: 'dir', path: '/etc' });
    for (const name of GENERATED_ETC_FILES) mounts.push({ kind: 'bind', path: `/etc/${name}`, hostPath: join(paths.etc, name), writable: false });
    for (const name of HOST_ETC_ENTRIES) mounts.push({ kind: 'bind', path: `/etc/${name}`, hostPath: `/etc/${name}`, writable: false, optional: true });
  }
  if (input.caBundle) mounts.push({ kind: 'bind', path: CA_BUNDLE_PATH, hostPath: join(paths.etc, CA_BUNDLE_FILE), writable: false });
  mounts.push(
    { kind: 'proc', path: '/proc' },
    { kind: 'dev', path: '/dev' },
    ...(input.workspace?.path === '/workspace' ? [] : [{ kind: 'bind' as const, path: '/workspace', hostPath: paths.workspace, writable: true }]),
    { kind: 'bind', path: '/tmp', hostPath: paths.tmp, writable: true },
  );
  // Parents first, as planned: read-only and writable binds nest to give each path its level.
  for (const m of input.workspace?.mounts ?? []) mounts.push({ kind: 'bind', path: m.path, hostPath: m.hostPath, writable: m.writable });
  return mounts;
}

/** True when the sandbox's root is writable (a template overlay), false for the read-only host view. */
export function hasWritableRoot(mounts: readonly MountEntry[]): boolean {
  return mounts.some((m) => m.kind === 'bind' && m.path === '/' && m.writable);
}

/** bwrap arguments creating `mounts`, in order. */
export function renderBwrapMounts(mounts: readonly MountEntry[]): string[] {
  const args: string[] = [];
  for (const m of mounts) {
    switch (m.kind) {
      case 'bind':
        args.push(m.writable ? (m.optional ? '--bind-try' : '--bind') : m.optional ? '--ro-bind-try' : '--ro-bind', m.hostPath, m.path);
        break;
      case 'symlink':
        args.push('--symlink', m.target, m.path);
        break;
      case 'dir':
        args.push('--dir', m.path);
        break;
      case 'proc':
        args.push('--proc', m.path);
        break;
      case 'dev':
        args.push('--dev', m.path);
        break;
    }
  }
  return args;
}

/** The sandbox's long-lived command: it only sleeps (about 68 years; any `sleep` accepts it). */
export const INIT_COMMAND = ['sleep', '2147483647'];

export interface InitPlanInput {
  mounts: readonly MountEntry[];
  hostname: string;
  /** Fd numbers the child gets: the BPF filter and the info pipe. */
  seccompFd: number;
  infoFd: number;
  bwrapPath?: string;
}

/**
 * The init: bwrap with its own pid, mount, ipc, uts, net and cgroup namespaces (the user namespace
 * is made by the prelude), a read-only root, no capabilities, the seccomp filter, and a command
 * that only sleeps. bwrap's own pid-1 reaper stays in the sandbox and adopts orphans.
 * `--die-with-parent` is deliberately absent: sandboxes outlive the server.
 */
export function planInitArgv(input: InitPlanInput): string[] {
  return [
    input.bwrapPath ?? '/usr/bin/bwrap',
    '--unshare-pid', '--unshare-net', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup',
    '--hostname', input.hostname,
    ...renderBwrapMounts(input.mounts),
    ...(hasWritableRoot(input.mounts) ? [] : ['--remount-ro', '/']),
    '--chdir', '/',
    '--cap-drop', 'ALL',
    '--seccomp', String(input.seccompFd),
    '--info-fd', String(input.infoFd),
    '--',
    ...INIT_COMMAND,
  ];
}

/** Short hostname for a sandbox id (uts names are at most 64 bytes). */
export function sandboxHostname(sandboxId: string): string {
  return sandboxId.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 63);
}

/** The generated /etc files for the host-root mode. */
export function planEtcFiles(sandboxId: string, network: NetworkPolicy): Record<string, string> {
  const host = sandboxHostname(sandboxId);
  return {
    passwd: 'root:x:0:0:root:/workspace:/bin/bash\nuser:x:1000:1000:user:/workspace:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
    group: 'root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n',
    hosts: `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${host}\n`,
    hostname: `${host}\n`,
    // slirp4netns's resolver (answered by the egress proxy through the shim). Rewritten in place
    // when a policy change gives a `none` sandbox network (the file is bind-mounted).
    'resolv.conf': network.mode === 'none' ? '' : 'nameserver 10.0.2.3\n',
    'nsswitch.conf': 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n',
  };
}

export interface ExecPlanInput extends WrapperPlanInput {
  initPid: number;
  user: ExecUser;
  nsenterPath?: string;
}

/**
 * nsenter into every namespace of the init, chroot to its root, then a tiny `sh` wrapper that
 * reports its own pid, changes to `cwd` and `exec`s the command (so that pid is the command's).
 */
export function planExecArgv(input: ExecPlanInput): string[] {
  return [
    input.nsenterPath ?? '/usr/bin/nsenter',
    '-t', String(input.initPid),
    '-U', '-m', '-u', '-i', '-n', '-p', '-r',
    '-S', String(input.user.uid), '-G', String(input.user.gid),
    '--', ...planWrapperArgv(input),
  ];
}

export { planSlirpArgv } from '../../host/slirp.js';

/** Validates the parts of a spec the plan relies on; returns a message, or undefined when fine. */
export function checkSpec(spec: SandboxSpec): string | undefined {
  if (!SANDBOX_ID_PATTERN.test(spec.id)) return `Sandbox id ${JSON.stringify(spec.id)} has characters the process backend cannot use.`;
  if (spec.rootfsPath !== undefined && !spec.rootfsPath.startsWith('/')) return 'rootfsPath must be absolute.';
  const r = spec.resources;
  for (const [k, v] of Object.entries(r)) if (v !== undefined && (typeof v !== 'number' || !(v > 0))) return `resources.${k} must be a positive number.`;
  return undefined;
}
