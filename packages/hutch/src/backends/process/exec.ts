/**
 * Exec for the process tier. Each command goes host → prelude (joins the sandbox's cgroups,
 * installs the seccomp filter) → nsenter into every namespace of the sandbox's init (user, mount,
 * uts, ipc, net, pid; chroot to its root) → the shared `sh` wrapper that reports its in-sandbox
 * pid, cds and execs the command. nsenter waits for that pid and re-raises its fatal signal, so
 * the exit code and signal Node sees are the command's own. Process handles, output and PTYs are
 * the shared `ExecProcess` (host/exec-process.ts).
 */
import { readFile } from 'node:fs/promises';
import { BadRequestError, InvalidTransitionError } from '../../domain/errors.js';
import type { ExecSpec } from '../../domain/process.js';
import { normalizeSandboxPath } from '../../port/sandbox-path.js';
import { oomKills } from '../../host/cgroups.js';
import { resolveSandboxPath } from '../../host/confined-files.js';
import { startPipeProcess, startPtyProcess, type ExecHooks, type ExecLaunch, type ExecProcess } from '../../host/exec-process.js';
import { preludeArgv } from '../../host/prelude.js';
import { childPids, innermostPid } from '../../host/proc.js';
import { getSandbox, type BackendContext, type ProcessSandbox } from './context.js';
import { cgroupProcsFiles, parsePasswd, planExecArgv, planExecEnv, resolveExecUser } from './plan.js';

export { ExecProcess } from '../../host/exec-process.js';

/** Starts `spec` in a running sandbox and resolves once its in-sandbox pid is known. */
export async function execInSandbox(ctx: BackendContext, id: string, spec: ExecSpec): Promise<ExecProcess> {
  const sandbox = getSandbox(ctx, id);
  if (sandbox.state !== 'running' || sandbox.initPid === undefined) {
    throw new InvalidTransitionError(sandbox.state === 'created' ? 'creating' : sandbox.state, 'running', 'exec in');
  }
  if ((spec.cmd === undefined) === (spec.shell === undefined)) throw new BadRequestError('Give exactly one of cmd or shell.');
  const cwd = normalizeSandboxPath(spec.cwd ?? sandbox.spec.workdir ?? '/workspace', '/workspace');
  const user = resolveExecUser(spec.user, parsePasswd(await readPasswd(ctx, sandbox)));
  if (!user) throw new BadRequestError(`Unknown user ${JSON.stringify(spec.user)} in the sandbox.`, { user: spec.user });
  const env = planExecEnv(sandbox.spec.env, spec.env, user, spec.pty !== undefined);
  const inner = planExecArgv({ initPid: sandbox.initPid, user, cwd, cmd: spec.cmd, args: spec.args, shell: spec.shell, pidFd: spec.pty ? undefined : 3, nsenterPath: ctx.tools.nsenter });
  const argv = preludeArgv({ seccompFile: sandbox.paths.seccomp, cgroupProcs: cgroupProcsFiles(ctx.layout, id), argv: inner }, ctx.tools.perl);
  const oomBefore = await oomKills(ctx.layout, id).catch(() => 0);
  const hooks: ExecHooks = {
    // The command is the child of nsenter whose innermost pid is the reported one.
    findHostPid: async (nsenter, pid) => {
      for (const candidate of await childPids(nsenter)) if ((await innermostPid(candidate)) === pid) return candidate;
      return undefined;
    },
    oomKills: () => oomKills(ctx.layout, id),
  };
  const launch: ExecLaunch = { backend: 'process', sandboxId: id, argv, env, spec, cwd, hooks, oomBefore };
  const proc = await (spec.pty ? startPtyProcess(launch) : startPipeProcess(launch));
  if (spec.timeoutMs && spec.timeoutMs > 0) proc.armTimeout(spec.timeoutMs);
  sandbox.processes.set(proc.pid, proc);
  return proc;
}

async function readPasswd(ctx: BackendContext, sandbox: ProcessSandbox): Promise<string> {
  try {
    const resolved = await resolveSandboxPath(sandbox, '/etc/passwd', true);
    return resolved.hostPath ? await readFile(resolved.hostPath, 'utf8') : '';
  } catch {
    return '';
  }
}

