/**
 * Exec for the container tier. A command goes to the container's exec agent when it has one
 * (agent.ts, host/agent-exec.ts: one connection, a fork inside the container, no host process);
 * otherwise, and when the agent does not answer, `<runtime> exec --process FILE [--preserve-fds 1] <id>`. The runtime
 * joins the container's namespaces and cgroups and applies its seccomp profile and capabilities, so
 * an exec'd command is confined exactly like the init. The OCI process file (mode 0600: it holds
 * env values) runs the shared `sh` wrapper that reports the in-container pid on fd 3 (or as an OSC
 * sequence under a PTY) and execs the command; the file is removed once the command runs. The
 * runtime reports a command killed by signal n as exit 128+n (see `ExecHooks.signalAsExitCode`).
 */
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BadRequestError, InvalidTransitionError } from '../../domain/errors.js';
import type { ExecSpec } from '../../domain/process.js';
import { normalizeSandboxPath } from '../../port/sandbox-path.js';
import { cgroupPids, oomKills } from '../../host/cgroups.js';
import { resolveSandboxPath } from '../../host/confined-files.js';
import { parsePasswd, planExecEnv, planWrapperArgv, resolveExecUser, type ExecUser } from '../../host/exec-plan.js';
import { startPipeProcess, startPtyProcess, type ExecHooks, type ExecProcess } from '../../host/exec-process.js';
import { AgentUnavailableError, startAgentProcess } from '../../host/agent-exec.js';
import { planAgentRequest } from '../../host/agent-protocol.js';
import { agentUsable } from './agent.js';
import { innermostPid } from '../../host/proc.js';
import { getSandbox, portState, type ContainerContext, type ContainerSandbox } from './context.js';
import { planExecProcess } from './plan.js';
import { runtimeArgv } from './runtime.js';

/** Starts `spec` in a running sandbox and resolves once its in-container pid is known. */
export async function execInSandbox(ctx: ContainerContext, id: string, spec: ExecSpec): Promise<ExecProcess> {
  const sandbox = getSandbox(ctx, id);
  if (sandbox.state !== 'running') throw new InvalidTransitionError(portState(sandbox), 'running', 'exec in');
  if ((spec.cmd === undefined) === (spec.shell === undefined)) throw new BadRequestError('Give exactly one of cmd or shell.');
  const cwd = normalizeSandboxPath(spec.cwd ?? sandbox.spec.workdir ?? '/workspace', '/workspace');
  // Independent reads, together: the user (from the container's /etc/passwd) and the OOM counter.
  const [user, oomBefore] = await Promise.all([execUser(sandbox, spec.user), oomKills(ctx.layout, id).catch(() => 0)]);
  const env = planExecEnv(sandbox.spec.env, spec.env, user, spec.pty !== undefined);
  if (agentUsable(ctx, sandbox)) {
    const request = planAgentRequest(spec, user, cwd, env);
    // The agent reports a killed command's signal itself: no 128+n translation.
    const hooks: ExecHooks = { findHostPid: async () => undefined, oomKills: () => oomKills(ctx.layout, id) };
    try {
      return track(sandbox, await startAgentProcess({ sandboxId: id, socketPath: sandbox.paths.agentSocket, request, spec, cwd, hooks, oomBefore }), spec);
    } catch (err) {
      // Nothing ran (a container started by an older version, without an agent init): the runtime.
      if (!(err instanceof AgentUnavailableError)) throw err;
    }
  }
  const args = planWrapperArgv({ cwd, cmd: spec.cmd, args: spec.args, shell: spec.shell, pidFd: spec.pty ? undefined : 3 });
  const processFile = join(sandbox.paths.execDir, `${randomBytes(8).toString('hex')}.json`);
  const hooks: ExecHooks = {
    // The runtime forks the command inside the pid namespace: find it among the sandbox's cgroup members.
    findHostPid: async (_launcher, pid) => {
      for (const candidate of await cgroupPids(ctx.layout, id)) if ((await innermostPid(candidate)) === pid && candidate !== pid) return candidate;
      return undefined;
    },
    oomKills: () => oomKills(ctx.layout, id),
    signalAsExitCode: true,
  };
  try {
    const [argv] = await Promise.all([
      runtimeArgv(ctx, ['exec', '--process', processFile, ...(spec.pty ? [] : ['--preserve-fds', '1']), id]),
      writeFile(processFile, JSON.stringify(planExecProcess({ user, env, args, noNewPrivileges: ctx.noNewPrivileges })), { mode: 0o600 }),
    ]);
    const launch = { backend: 'container', sandboxId: id, argv, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...(spec.pty ? { TERM: 'xterm-256color' } : {}) }, spec, cwd, hooks, oomBefore };
    return track(sandbox, await (spec.pty ? startPtyProcess(launch) : startPipeProcess(launch)), spec);
  } finally {
    await rm(processFile, { force: true });
  }
}

function track(sandbox: ContainerSandbox, proc: ExecProcess, spec: ExecSpec): ExecProcess {
  if (spec.timeoutMs && spec.timeoutMs > 0) proc.armTimeout(spec.timeoutMs);
  sandbox.processes.set(proc.pid, proc);
  return proc;
}

/** The user to run as, from the container's own /etc/passwd (root's home from there too). */
async function execUser(sandbox: ContainerSandbox, name: string | undefined): Promise<ExecUser> {
  const passwd = parsePasswd(await readPasswd(sandbox));
  const user = resolveExecUser(name, passwd);
  if (!user) throw new BadRequestError(`Unknown user ${JSON.stringify(name)} in the sandbox.`, { user: name });
  if (user.uid === 0) return { ...user, home: passwd.get('root')?.home ?? '/root' };
  return user;
}

async function readPasswd(sandbox: ContainerSandbox): Promise<string> {
  try {
    const resolved = await resolveSandboxPath(sandbox, '/etc/passwd', true);
    return resolved.hostPath ? await readFile(resolved.hostPath, 'utf8') : '';
  } catch {
    return '';
  }
}
