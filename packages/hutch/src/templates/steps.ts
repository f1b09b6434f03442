/**
 * Applies build steps to a root filesystem being built. RUN executes inside the template root in
 * its own user namespace (ids 0..65535 → the sandbox range, so a build never runs as host root),
 * with its own mount, pid, ipc and uts namespaces, a fresh /proc, and the host network (package
 * installs need the archive). ENV, WORKDIR and USER update the metadata later steps and sandboxes
 * inherit; COPY writes inline content or host files into the root, owned by the current user.
 */
import { copyFile, lstat, mkdir, readFile, writeFile, chown } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BadRequestError } from '../domain/errors.js';
import { USERNS_HOST_BASE } from '../domain/user-namespace.js';
import { preludeArgv } from '../host/prelude.js';
import { normalizeSandboxPath } from '../port/sandbox-path.js';
import { copyTree, runLogged, shiftOwnership, type LogSink } from './host-ops.js';
import type { TemplateStep } from './recipe.js';

export interface BuildState {
  env: Record<string, string>;
  workdir: string | null;
  user: string | null;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Pure: the argv that runs `command` inside `rootfs` as `state.user` in a fresh user namespace. */
export function runArgv(rootfs: string, command: string, state: BuildState): string[] {
  const env = { PATH: DEFAULT_PATH, HOME: state.user && state.user !== 'root' ? `/home/${state.user}` : '/root', DEBIAN_FRONTEND: 'noninteractive', ...state.env };
  const asUser = state.user && state.user !== 'root' ? ['/usr/bin/setpriv', `--reuid=${state.user}`, `--regid=${state.user}`, '--init-groups', '--'] : [];
  // The prelude enters a user namespace mapping 0..65535 to the sandbox range; unshare then makes
  // the other namespaces from inside it (it is root there) and chroots into the template.
  return preludeArgv({
    usernsHostBase: USERNS_HOST_BASE,
    cgroupProcs: [],
    argv: [
      'unshare', '--mount', '--pid', '--fork', '--ipc', '--uts', '--kill-child',
      `--root=${rootfs}`, '--mount-proc', `--wd=${state.workdir ?? '/'}`, '--',
      ...asUser, '/usr/bin/env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), '/bin/sh', '-c', command,
    ],
  });
}

/** The host path of a sandbox path inside the template root (no `..`; symlinks are not followed by callers). */
export function hostPathIn(rootfs: string, path: string): string {
  return join(rootfs, normalizeSandboxPath(path));
}

async function idsOf(rootfs: string, user: string | null): Promise<{ uid: number; gid: number }> {
  if (!user || user === 'root') return { uid: USERNS_HOST_BASE, gid: USERNS_HOST_BASE };
  const passwd = await readFile(join(rootfs, 'etc/passwd'), 'utf8').catch(() => '');
  const entry = passwd.split('\n').map((l) => l.split(':')).find((f) => f[0] === user || f[2] === user);
  if (!entry) throw new BadRequestError(`USER ${user}: no such user in the template (create it with a run step first).`);
  return { uid: USERNS_HOST_BASE + Number(entry[2]), gid: USERNS_HOST_BASE + Number(entry[3]) };
}

export async function applyStep(rootfs: string, step: TemplateStep, state: BuildState, log: LogSink): Promise<void> {
  if ('run' in step) {
    log(`$ ${step.run}`);
    await runLogged(runArgv(rootfs, step.run, state), log);
  } else if ('env' in step) {
    Object.assign(state.env, step.env);
    log(`ENV ${Object.keys(step.env).join(' ')}`);
  } else if ('workdir' in step) {
    const ids = await idsOf(rootfs, state.user);
    const host = hostPathIn(rootfs, step.workdir);
    await mkdir(host, { recursive: true });
    await chown(host, ids.uid, ids.gid).catch(() => undefined);
    state.workdir = normalizeSandboxPath(step.workdir);
    log(`WORKDIR ${state.workdir}`);
  } else if ('user' in step) {
    await idsOf(rootfs, step.user);
    state.user = step.user;
    log(`USER ${step.user}`);
  } else {
    const { dest, content, src, mode } = step.copy;
    const ids = await idsOf(rootfs, state.user);
    const host = hostPathIn(rootfs, dest);
    await mkdir(dirname(host), { recursive: true });
    if (content !== undefined) {
      await writeFile(host, content, { mode: mode ?? 0o644 });
      await chown(host, ids.uid, ids.gid);
    } else {
      const st = await lstat(src!).catch(() => undefined);
      if (!st) throw new BadRequestError(`COPY source ${src} does not exist on the host.`);
      if (st.isDirectory()) {
        await mkdir(host, { recursive: true });
        await copyTree(`${src}/.`, host, log);
      }
      else await copyFile(src!, host);
      await shiftOwnership(host, USERNS_HOST_BASE);
      if (state.user && state.user !== 'root') await runLogged(['chown', '-R', `${ids.uid}:${ids.gid}`, host], log);
    }
    log(`COPY ${dest}`);
  }
}
