/**
 * Pure exec planning shared by the host-based tiers: users from the sandbox's /etc/passwd, the
 * exec environment, and the in-sandbox `sh` wrapper every launcher (nsenter, `crun exec`) runs.
 */

import { USERNS_SIZE } from '../domain/user-namespace.js';

/** Parses `/etc/passwd` text into name → { uid, gid, home }. */
export function parsePasswd(text: string): Map<string, { uid: number; gid: number; home: string }> {
  const users = new Map<string, { uid: number; gid: number; home: string }>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || !/^\d+$/.test(f[2]!) || !/^\d+$/.test(f[3]!)) continue;
    users.set(f[0]!, { uid: Number(f[2]), gid: Number(f[3]), home: f[5]! });
  }
  return users;
}

export interface ExecUser {
  uid: number;
  gid: number;
  home: string;
}

/** True when an exec `user` means the sandbox's root (the default): no passwd lookup needed. */
export function isRootExecUser(user: string | undefined): user is undefined | '' | 'root' | '0' {
  return user === undefined || user === '' || user === 'root' || user === '0';
}

/** Resolves an exec `user` (name or numeric uid) against the sandbox's passwd; undefined if unknown. */
export function resolveExecUser(user: string | undefined, passwd: ReturnType<typeof parsePasswd>): ExecUser | undefined {
  if (isRootExecUser(user)) return { uid: 0, gid: 0, home: '/workspace' };
  const byName = passwd.get(user);
  if (byName) return byName;
  if (/^\d+$/.test(user)) {
    const uid = Number(user);
    if (uid >= USERNS_SIZE) return undefined;
    const entry = [...passwd.values()].find((u) => u.uid === uid);
    return entry ?? { uid, gid: uid, home: '/workspace' };
  }
  return undefined;
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The exec environment: defaults, then the sandbox's env, then the exec's own. No host env leaks. */
export function planExecEnv(sandboxEnv: Record<string, string>, execEnv: Record<string, string> | undefined, user: ExecUser, pty: boolean): Record<string, string> {
  return {
    PATH: DEFAULT_PATH,
    HOME: user.home,
    LANG: 'C.UTF-8',
    ...(pty ? { TERM: 'xterm-256color' } : {}),
    ...sandboxEnv,
    ...(execEnv ?? {}),
  };
}

export interface WrapperPlanInput {
  cwd: string;
  /** `cmd`+`args`, or a shell string run with bash -lc (sh -c without bash). */
  cmd?: string;
  args?: string[];
  shell?: string;
  /** Fd (in the child) the wrapper writes its in-sandbox pid to; undefined (PTY): printed as OSC. */
  pidFd?: number;
  /**
   * The command's environment, set inside the sandbox by `env -i` (with PWD = cwd). For launchers
   * that run as host root through a dynamic loader or an interpreter (Perl, nsenter): they must be
   * spawned with a fixed environment, never the caller's (LD_PRELOAD, PERL5OPT, ...).
   */
  env?: Record<string, string>;
}

/**
 * The in-sandbox argv: a tiny `sh` wrapper that reports its own pid, changes to `cwd` (exit 126 if
 * it cannot) and `exec`s the command, so the reported pid is the command's.
 */
export function planWrapperArgv(input: WrapperPlanInput): string[] {
  // Without a pid fd (PTY) the pid goes out first as an OSC sequence the backend strips.
  const report = input.pidFd === undefined ? "printf '\\033]hutch-pid;%s\\007' $$; " : `echo $$ >&${input.pidFd}; exec ${input.pidFd}>&-; `;
  const wrapper = `${report}cd "$1" || exit 126; shift; exec "$@"`;
  const command = input.shell !== undefined
    ? ['/bin/sh', '-c', 'if [ -x /bin/bash ]; then exec /bin/bash -lc "$1"; else exec /bin/sh -c "$1"; fi', 'sh', input.shell]
    : [input.cmd ?? 'true', ...(input.args ?? [])];
  const withEnv = input.env === undefined ? command : ['/usr/bin/env', '-i', ...Object.entries({ ...input.env, PWD: input.cwd }).map(([k, v]) => `${k}=${v}`), ...command];
  return ['/bin/sh', '-c', wrapper, 'hutch-exec', input.cwd, ...withEnv];
}
