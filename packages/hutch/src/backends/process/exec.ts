/**
 * Exec for the process tier. A command goes to the sandbox's exec agent when it has one (agent.ts,
 * host/agent-exec.ts: no host process at all); otherwise through `hutch-launch exec` (host/launcher.ts):
 * one static process joins the sandbox's cgroups, enters every namespace of the sandbox's init
 * (user, mount, uts, ipc, net, pid, cgroup; chroot to its root), installs the seccomp filter and
 * forks the command into the pid namespace; the child reports its in-sandbox pid, cds and execs.
 * The launcher waits and re-raises the command's fatal signal, so the exit code and signal Node
 * sees are the command's own. Without the launcher (no gcc), the same steps run as Perl prelude →
 * nsenter → the shared `sh` wrapper. Process handles, output and PTYs are the shared
 * `ExecProcess` (host/exec-process.ts).
 */
import { readFile } from 'node:fs/promises';
import { BackendFailureError, BadRequestError, InvalidTransitionError } from '../../domain/errors.js';
import type { ExecSpec } from '../../domain/process.js';
import { normalizeSandboxPath } from '../../port/sandbox-path.js';
import { oomKills } from '../../host/cgroups.js';
import { resolveSandboxPath } from '../../host/confined-files.js';
import { startPipeProcess, startPtyProcess, type ExecHooks, type ExecLaunch, type ExecProcess } from '../../host/exec-process.js';
import { launcherExecEnv, planLaunchExecArgv } from '../../host/launcher.js';
import { AgentUnavailableError, startAgentProcess } from '../../host/agent-exec.js';
import { planAgentRequest } from '../../host/agent-protocol.js';
import { agentUsable } from './agent.js';
import { preludeArgv } from '../../host/prelude.js';
import { childPids, innermostPid, isSameProcess } from '../../host/proc.js';
import { getSandbox, type BackendContext, type ProcessSandbox } from './context.js';
import { DEFAULT_PATH, isRootExecUser } from '../../host/exec-plan.js';
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
  // Root (the default) needs no passwd lookup: the sandbox's /etc/passwd is read only for others.
  const user = resolveExecUser(spec.user, parsePasswd(isRootExecUser(spec.user) ? '' : await readPasswd(ctx, sandbox)));
  if (!user) throw new BadRequestError(`Unknown user ${JSON.stringify(spec.user)} in the sandbox.`, { user: spec.user });
  const env = planExecEnv(sandbox.spec.env, spec.env, user, spec.pty !== undefined);
  const oomBefore = await oomKills(ctx.layout, id).catch(() => 0);
  const hooks: ExecHooks = {
    // The command is the launcher's (or nsenter's) child whose innermost pid is the reported one.
    findHostPid: async (nsenter, pid) => {
      for (const candidate of await childPids(nsenter)) if ((await innermostPid(candidate)) === pid) return candidate;
      return undefined;
    },
    oomKills: () => oomKills(ctx.layout, id),
  };
  if (agentUsable(ctx, sandbox)) {
    const request = planAgentRequest(spec, user, cwd, env);
    try {
      const proc = await startAgentProcess({ sandboxId: id, socketPath: sandbox.paths.agentSocket, request, spec, cwd, hooks, oomBefore });
      return track(sandbox, proc, spec);
    } catch (err) {
      if (!(err instanceof AgentUnavailableError)) throw err;
      // No agent answering (killed from inside, or a sandbox started without one): the launcher.
    }
  }
  // The launcher enters the namespaces of the recorded init pid: never those of a process that reused it.
  if (sandbox.initStartTime !== undefined && !(await isSameProcess(sandbox.initPid, sandbox.initStartTime))) {
    throw new BackendFailureError("The sandbox's init process is gone; stop and start the sandbox.", { sandboxId: id });
  }
  const pidFd = spec.pty ? undefined : 3;
  const cgroupProcs = cgroupProcsFiles(ctx.layout, id);
  const argv = ctx.launcher
    ? planLaunchExecArgv({ launcher: ctx.launcher, initPid: sandbox.initPid, cgroupProcs, seccompFile: sandbox.paths.seccomp, uid: user.uid, gid: user.gid, cwd, cmd: spec.cmd, args: spec.args, shell: spec.shell, pidFd })
    : preludeArgv({
      seccompFile: sandbox.paths.seccomp,
      cgroupProcs,
      argv: planExecArgv({ initPid: sandbox.initPid, user, cwd, cmd: spec.cmd, args: spec.args, shell: spec.shell, pidFd, nsenterPath: ctx.tools.nsenter, env }),
    }, ctx.tools.perl);
  // Perl and nsenter run as host root through the dynamic loader: they get a fixed environment and
  // the command's is set inside the sandbox (env -i). The static launcher passes it through (see
  // launcherExecEnv for the one variable a static binary still reads).
  const launchEnv = ctx.launcher ? launcherExecEnv(env) : { PATH: DEFAULT_PATH };
  const launch: ExecLaunch = { backend: 'process', sandboxId: id, argv, env: launchEnv, spec, cwd, hooks, oomBefore };
  return track(sandbox, await (spec.pty ? startPtyProcess(launch) : startPipeProcess(launch)), spec);
}

function track(sandbox: ProcessSandbox, proc: ExecProcess, spec: ExecSpec): ExecProcess {
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

