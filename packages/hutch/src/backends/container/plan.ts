/**
 * Pure planning for the container tier: sandbox spec → host paths, OCI `config.json` (with the
 * sandbox's trust bundle over the system one when it has secrets), the seccomp profile, the
 * per-exec OCI process, runtime argv (joining the runtime namespace, or the per-call hybrid-cgroup
 * wrapper, for crun on a hybrid host) and the mount table
 * the files API resolves through. Nothing here touches the filesystem or spawns.
 */
import type { WorkspaceMounts } from '../../domain/workspace.js';
import { join } from 'node:path';
import type { NetworkPolicy, Resources, SandboxSpec } from '../../domain/sandbox.js';
import { USERNS_HOST_BASE, USERNS_SIZE } from '../../domain/user-namespace.js';
import { CPU_PERIOD_US } from '../../host/cgroup-plan.js';
import { DEFAULT_PATH, type ExecUser } from '../../host/exec-plan.js';
import { CA_BUNDLE_FILE, CA_BUNDLE_PATH } from '../../host/egress/sandbox-ca.js';
import type { MountEntry } from '../../host/mount-table.js';
import { DENIED_SYSCALLS } from '../../host/seccomp-policy.js';

/** Sandbox ids become host path, cgroup and runtime-id components: a safe alphabet only. */
export const CONTAINER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export type RuntimeKind = 'crun' | 'runc' | 'runsc';

/** How the OCI runtime is invoked. */
export interface RuntimeInvocation {
  kind: RuntimeKind;
  path: string;
  /** State dir (`--root`), Hutch-owned, under the data dir. */
  root: string;
  /**
   * crun refuses cgroup v1 hosts that also mount a cgroup2 holding controllers ("hybrid mode").
   * When set, every call runs in a private mount namespace where that cgroup2 is unmounted: the
   * backend's long-lived one (runtime-ns.ts), or without the helper binary a throw-away one per
   * call (`unshare -m --propagation private sh -c 'umount <path> && exec crun …'`); the host is untouched.
   */
  hybridUnmount?: string;
  unsharePath?: string;
  /**
   * The directory holding every sandbox's overlay root. The private namespace starts as a copy of
   * the host's mounts, and a long-lived call (an attached `exec`) would pin copies of *other*
   * sandboxes' overlays there: their roots could then never be removed (EBUSY). So the wrapper
   * detaches every overlay under this directory but the one the call needs.
   */
  sandboxesDir?: string;
}

/** Host paths of one sandbox, all derived from the data dir and the id (so reclaim needs no record). */
export interface ContainerPaths {
  dir: string;
  config: string;
  specFile: string;
  pidFile: string;
  log: string;
  etc: string;
  /** Per-exec OCI process files (mode 0600: they hold env values). */
  execDir: string;
  /** The exec agent's listening socket (host only; see agent.ts). */
  agentSocket: string;
  upper: string;
  work: string;
  merged: string;
}

export function containerPaths(dataDir: string, sandboxId: string): ContainerPaths {
  const dir = join(dataDir, 'sandboxes', sandboxId);
  return {
    dir,
    config: join(dir, 'config.json'),
    specFile: join(dir, 'spec.json'),
    pidFile: join(dir, 'init.pid'),
    log: join(dir, 'runtime.log'),
    etc: join(dir, 'etc'),
    execDir: join(dir, 'exec'),
    agentSocket: join(dir, 'agent.sock'),
    upper: join(dir, 'root', 'upper'),
    work: join(dir, 'root', 'work'),
    merged: join(dir, 'root', 'merged'),
  };
}

/** The runtime's state dir for a data dir. */
export function runtimeRoot(dataDir: string, kind: RuntimeKind): string {
  return join(dataDir, 'runtime', kind);
}

/** The cgroup path of a sandbox (`hutch/<id>` in every hierarchy, as host/cgroup-plan.ts expects). */
export function cgroupsPathFor(sandboxId: string): string {
  return `/hutch/${sandboxId}`;
}

/** Generated /etc files bound read-only over the template's. */
export const GENERATED_ETC = ['hosts', 'hostname', 'resolv.conf'] as const;

export function sandboxHostname(sandboxId: string): string {
  return sandboxId.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 63);
}

export function planEtcFiles(sandboxId: string, network: NetworkPolicy): Record<(typeof GENERATED_ETC)[number], string> {
  const host = sandboxHostname(sandboxId);
  return {
    hosts: `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${host}\n`,
    hostname: `${host}\n`,
    // slirp4netns's resolver (answered by the egress proxy through the shim) for any mode with network.
    'resolv.conf': network.mode === 'none' ? '' : 'nameserver 10.0.2.3\n',
  };
}

/**
 * The files API's view: the merged overlay is the root (writable, copy-on-write over the
 * template), the generated /etc files read-only, /proc, /dev and /sys the container's own kernel
 * views (not served from the host).
 */
export function planMountTable(paths: ContainerPaths, workspace?: WorkspaceMounts, caBundle = false): MountEntry[] {
  return [
    { kind: 'bind', path: '/', hostPath: paths.merged, writable: true },
    ...GENERATED_ETC.map((name): MountEntry => ({ kind: 'bind', path: `/etc/${name}`, hostPath: join(paths.etc, name), writable: false })),
    ...(caBundle ? [{ kind: 'bind' as const, path: CA_BUNDLE_PATH, hostPath: join(paths.etc, CA_BUNDLE_FILE), writable: false }] : []),
    { kind: 'proc', path: '/proc' },
    { kind: 'dev', path: '/dev' },
    { kind: 'proc', path: '/sys' },
    ...(workspace?.mounts ?? []).map((m): MountEntry => ({ kind: 'bind', path: m.path, hostPath: m.hostPath, writable: m.writable })),
  ];
}

/** OCI bind mounts of a workspace, in order (parents first), read-only where the rules say so. */
export function planWorkspaceMounts(workspace: WorkspaceMounts | undefined): Array<Record<string, unknown>> {
  return (workspace?.mounts ?? []).map((m) => ({ destination: m.path, type: 'bind', source: m.hostPath, options: ['bind', 'nosuid', 'nodev', m.writable ? 'rw' : 'ro'] }));
}

/**
 * Capabilities exec'd root processes keep inside the user namespace: Docker's default set. They
 * only ever act inside the sandbox's user namespace (host ids 100000+), never on the host.
 */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** Kernel files hidden from the sandbox (Docker's list plus a few). */
export const MASKED_PATHS = [
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats',
  '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap', '/sys/kernel/debug',
];
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Every CLONE_NEW* flag on its own (together: host/seccomp-policy.ts `CLONE_NEW_MASK`). */
export const CLONE_NEW_FLAGS = [0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000, 0x00000080];

/** OCI seccomp rule. */
export interface SeccompRule {
  names: string[];
  action: 'SCMP_ACT_ERRNO' | 'SCMP_ACT_ALLOW';
  errnoRet?: number;
  args?: Array<{ index: number; value: number; valueTwo: number; op: 'SCMP_CMP_MASKED_EQ' }>;
}

/**
 * The seccomp profile: allow by default, refuse with EPERM the shared deny list (keyrings, mount
 * family, ptrace, kexec, modules, bpf, userfaultfd, perf_event_open, handle opens, swap, reboot,
 * clocks, syslog, unshare, io_uring, ...) plus `setns`; `clone` with any CLONE_NEW* flag → EPERM
 * (one masked rule per flag, since rules on one syscall are or-ed); `clone3` → ENOSYS (its flags
 * are in memory a filter cannot read; libc falls back to `clone`). The runtime installs it after
 * it has joined the namespaces itself, so `setns` can be refused to the sandbox.
 */
export function planSeccompProfile(arch: string = process.arch): Record<string, unknown> {
  const architectures = arch === 'arm64' ? ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'] : ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'];
  const syscalls: SeccompRule[] = [
    { names: [...DENIED_SYSCALLS, 'setns'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
    ...CLONE_NEW_FLAGS.map((flag): SeccompRule => ({ names: ['clone'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: [{ index: 0, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' }] })),
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
  ];
  return { defaultAction: 'SCMP_ACT_ALLOW', architectures, syscalls };
}

/**
 * The container's pid 1 without the exec agent (no launcher or agent binary, a socket path too
 * long, a runtime other than crun): a shell that only waits, with no capabilities, and reaps every
 * orphan re-parented to it (background jobs of exec'd commands end up here). `sleep` comes from
 * the template.
 */
export const INIT_ARGS = ['/bin/sh', '-c', 'trap "exit 0" TERM; while :; do sleep 2147483647 & wait $!; done'];

/**
 * The container's pid 1 with the exec agent (agent.ts): the agent itself, run by `crun run` through
 * `hutch-launch listen`, which passes its host-only socket as fd 3 and its binary as fd 4; `-1`
 * keeps it in the foreground as the init, reaping every orphan.
 */
export const AGENT_INIT_ARGS = ['/proc/self/fd/4', '-f', '3', '-1'];

/**
 * The OCI process of pid 1. As the agent, it is the process a root exec gets (planExecProcess:
 * Docker's capability set, root, the no_new_privs setting, no rlimits of its own, so the
 * runtime's, like a `crun exec`): the commands it starts are what a root exec got anyway, so pid 1
 * holding those capabilities gives a process inside nothing it did not have. It is not dumpable
 * (its /proc files, exe, fds and environ, are closed to the sandbox, which has no CAP_SYS_PTRACE),
 * and as a pid namespace's init it receives from inside only the signals it handles: its one
 * handler, SIGTERM, acts only when sent from outside (the runtime), so unlike the former daemon
 * agent it cannot be killed from inside. The shell init keeps no capabilities at all.
 */
export function planInitProcess(agentInit: boolean, noNewPrivileges: boolean): Record<string, unknown> {
  if (agentInit) return planExecProcess({ user: { uid: 0, gid: 0, home: '/root' }, env: { PATH: DEFAULT_PATH }, args: AGENT_INIT_ARGS, noNewPrivileges });
  return {
    terminal: false,
    user: { uid: 0, gid: 0 },
    args: INIT_ARGS,
    env: [`PATH=${DEFAULT_PATH}`],
    cwd: '/',
    capabilities: { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] },
    rlimits: [{ type: 'RLIMIT_NOFILE', hard: 4096, soft: 1024 }],
    noNewPrivileges,
  };
}

export interface OciConfigInput {
  id: string;
  paths: ContainerPaths;
  resources: Resources;
  /** Whether setuid programs may gain privileges (sudo). See README: false keeps sudo working. */
  noNewPrivileges: boolean;
  arch?: string;
  /** A codebase's binds (engine-prepared). */
  workspace?: WorkspaceMounts;
  /** Bind the generated trust bundle (host roots + the sandbox CA) read-only over `CA_BUNDLE_PATH`. */
  caBundle?: boolean;
  /** Pid 1 is the exec agent (`AGENT_INIT_ARGS`, run through `hutch-launch listen`); else the shell init. */
  agentInit?: boolean;
}

const MIB = 1024 * 1024;

/** The OCI runtime config (`config.json`) of a sandbox. */
export function planOciConfig(input: OciConfigInput): Record<string, unknown> {
  const { paths, resources } = input;
  const ro = (dest: string, source: string) => ({ destination: dest, type: 'bind', source, options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] });
  const limits: Record<string, unknown> = { devices: [{ allow: false, access: 'rwm' }] };
  if (resources.memoryMib) limits.memory = { limit: Math.floor(resources.memoryMib * MIB) };
  if (resources.pids) limits.pids = { limit: resources.pids };
  if (resources.vcpus) limits.cpu = { quota: Math.max(1000, Math.round(resources.vcpus * CPU_PERIOD_US)), period: CPU_PERIOD_US };
  return {
    ociVersion: '1.0.2',
    process: planInitProcess(input.agentInit ?? false, input.noNewPrivileges),
    root: { path: paths.merged, readonly: false },
    hostname: sandboxHostname(input.id),
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      ...GENERATED_ETC.map((name) => ro(`/etc/${name}`, join(paths.etc, name))),
      ...(input.caBundle ? [ro(CA_BUNDLE_PATH, join(paths.etc, CA_BUNDLE_FILE))] : []),
      ...planWorkspaceMounts(input.workspace),
    ],
    linux: {
      uidMappings: [{ containerID: 0, hostID: USERNS_HOST_BASE, size: USERNS_SIZE }],
      gidMappings: [{ containerID: 0, hostID: USERNS_HOST_BASE, size: USERNS_SIZE }],
      namespaces: ['pid', 'ipc', 'uts', 'mount', 'network', 'user', 'cgroup'].map((type) => ({ type })),
      cgroupsPath: cgroupsPathFor(input.id),
      resources: limits,
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
      seccomp: planSeccompProfile(input.arch),
    },
  };
}

export interface ExecProcessInput {
  user: ExecUser;
  env: Record<string, string>;
  args: string[];
  noNewPrivileges: boolean;
}

/** The OCI process of one exec (`crun exec --process FILE`): Docker's capability set for root, none otherwise. */
export function planExecProcess(input: ExecProcessInput): Record<string, unknown> {
  const caps = input.user.uid === 0 ? DEFAULT_CAPABILITIES : [];
  return {
    terminal: false,
    user: { uid: input.user.uid, gid: input.user.gid },
    args: input.args,
    env: Object.entries(input.env).map(([k, v]) => `${k}=${v}`),
    cwd: '/',
    capabilities: { bounding: DEFAULT_CAPABILITIES, effective: caps, permitted: caps, inheritable: [], ambient: [] },
    noNewPrivileges: input.noNewPrivileges,
  };
}

/** Global runtime flags (state dir, cgroup driver). */
function runtimeFlags(rt: RuntimeInvocation): string[] {
  if (rt.kind === 'crun') return ['--root', rt.root, '--cgroup-manager=cgroupfs'];
  return ['--root', rt.root];
}

/** Runs in the private namespace: unmount the cgroup2, detach other sandboxes' overlays, exec the runtime. */
const PRIVATE_NS_SCRIPT = [
  'umount "$0" || exit 1',
  'if [ -n "$1" ]; then awk -v d="$1/" -v k="$2" \'index($5, d) == 1 && $5 != k { print $5 }\' /proc/self/mountinfo | while read -r m; do umount -l "$m"; done; fi',
  'shift 2',
  'exec "$@"',
].join('\n');

/**
 * The long-lived runtime mount namespace (native/hutch-mntns.c `hold`, see runtime-ns.ts): a
 * private namespace without the hybrid cgroup2, which every crun call joins instead of building one.
 */
export interface RuntimeNamespaceRef {
  /** The hutch-mntns binary. */
  helper: string;
  /** The holder's pid and its mount namespace's inode (a reused pid is refused). */
  pid: number;
  inode: string;
}

/** Pure: the holder's argv (`hutch-mntns hold`). */
export function planHolderArgv(helper: string, cgroup2: string): string[] {
  return [helper, 'hold', '-U', cgroup2];
}

/** How one runtime call runs, beyond its arguments. */
export interface RuntimeCallPlan {
  /** Per-call wrapper only: the one overlay root the call needs (every other is detached). */
  keepMount?: string;
  /** The long-lived namespace to join; without it, the per-call wrapper. */
  ns?: RuntimeNamespaceRef;
  /** With `ns`: host overlay mounts cloned into the namespace for this call (`run`), detached after it. */
  binds?: string[];
  /** With `ns`: host mounts unmounted (in the host's namespace) before the call (destroy's root overlay). */
  unmounts?: string[];
}

/**
 * The argv of one runtime call, wrapped for crun on a hybrid cgroup host (see `RuntimeInvocation`):
 * joining the long-lived namespace (`hutch-mntns run`) when there is one, else the per-call wrapper.
 */
export function planRuntimeArgv(rt: RuntimeInvocation, args: string[], plan: RuntimeCallPlan = {}): string[] {
  const call = [rt.path, ...runtimeFlags(rt), ...args];
  if (!rt.hybridUnmount) return call;
  const { ns } = plan;
  if (ns) {
    const mounts = [...(plan.unmounts ?? []).flatMap((u) => ['-u', u]), ...(plan.binds ?? []).flatMap((b) => ['-b', b])];
    return [ns.helper, 'run', '-t', String(ns.pid), '-i', ns.inode, ...mounts, '--', ...call];
  }
  return [rt.unsharePath ?? '/usr/bin/unshare', '-m', '--propagation', 'private', '/bin/sh', '-c', PRIVATE_NS_SCRIPT, rt.hybridUnmount, rt.sandboxesDir ?? '', plan.keepMount ?? '', ...call];
}

/** Pure: the overlay mount point enclosing each path (`/` and non-overlay mounts are in the namespace already). */
export function overlayMountsOf(mounts: Array<{ path: string; fstype: string }>, paths: string[]): string[] {
  const found = new Set<string>();
  for (const path of paths) {
    let best: { path: string; fstype: string } | undefined;
    for (const m of mounts) if ((path === m.path || path.startsWith(m.path === '/' ? '/' : `${m.path}/`)) && (!best || m.path.length >= best.path.length)) best = m;
    if (best && best.fstype === 'overlay' && best.path !== '/') found.add(best.path);
  }
  return [...found];
}

/** Validates the parts of a spec the plan relies on; returns a message, or undefined when fine. */
export function checkSpec(spec: SandboxSpec): string | undefined {
  if (!CONTAINER_ID_PATTERN.test(spec.id)) return `Sandbox id ${JSON.stringify(spec.id)} has characters the container backend cannot use.`;
  if (spec.rootfsPath !== undefined && !spec.rootfsPath.startsWith('/')) return 'rootfsPath must be absolute.';
  for (const [k, v] of Object.entries(spec.resources)) if (v !== undefined && (typeof v !== 'number' || !(v > 0))) return `resources.${k} must be a positive number.`;
  return undefined;
}
