/**
 * The container tier's exec agent (native/hutch-agent.c, the process tier's): started once in every
 * running container, right after its init, by ONE `crun exec` of the OCI process a root exec gets
 * (planExecProcess: the same capabilities, seccomp profile, no_new_privs setting, namespaces and
 * cgroups), so its commands inherit exactly that, and it setuid/setgid's for other users as the
 * runtime would. The call runs through `hutch-launch listen` (native/hutch-launch.c), which binds the
 * agent's listening socket on the host (`paths.agentSocket`, mode 0600, in the sandbox's host-only
 * dir) and opens the agent binary; they reach the container as fds 3 and 4 (`--preserve-fds 2`),
 * and the process runs `/proc/self/fd/4 -f 3`: no mount of the binary, no path of it inside. The
 * agent daemonizes (the exec returns at once) and is re-parented to the container's init, which
 * reaps. It lives as long as the container, so a server restart (adopt) finds it at the same path.
 * Without it (no gcc, a path too long for a unix address, the agent killed from inside) exec falls
 * back to `crun exec` (exec.ts), with the same results.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_PATH } from '../../host/exec-plan.js';
import { DEFAULT_AGENT_PATH, DEFAULT_LAUNCHER_PATH, ensureAgent, ensureLauncher } from '../../host/launcher.js';
import type { ContainerTools } from './capabilities.js';
import type { ContainerContext, ContainerSandbox } from './context.js';
import { planExecProcess } from './plan.js';
import { runtimeCall } from './runtime.js';

/** sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

/** Builds (if needed) hutch-launch and hutch-agent; undefined when either is disabled or unusable. */
export async function ensureAgentTools(tools: ContainerTools): Promise<{ launcher: string; binary: string } | undefined> {
  if (tools.launcher === '' || tools.agent === '') return undefined;
  const launcher = await ensureLauncher(tools.launcher ?? DEFAULT_LAUNCHER_PATH);
  const binary = launcher ? await ensureAgent(tools.agent ?? DEFAULT_AGENT_PATH) : undefined;
  return launcher && binary ? { launcher, binary } : undefined;
}

/** True when this sandbox can have an agent at all. */
export function agentUsable(ctx: ContainerContext, sandbox: ContainerSandbox): boolean {
  return ctx.agent !== undefined && Buffer.byteLength(sandbox.paths.agentSocket) <= MAX_SOCKET_PATH;
}

/** Pure: the argv prefix that binds the socket, opens the agent and runs the runtime call. */
export function planAgentPrefix(launcher: string, binary: string, socket: string): string[] {
  return [launcher, 'listen', '-L', socket, '-x', binary, '-O', '--'];
}

/**
 * Starts the agent in the running container. Never throws: a failure is written to the sandbox's
 * runtime log (host only) and exec keeps using `crun exec`.
 */
export async function startExecAgent(ctx: ContainerContext, sandbox: ContainerSandbox): Promise<void> {
  if (!agentUsable(ctx, sandbox)) return;
  const { launcher, binary } = ctx.agent!;
  const processFile = join(sandbox.paths.execDir, `agent-${randomBytes(8).toString('hex')}.json`);
  // A fixed environment: the agent's own is readable from inside the container (/proc/<pid>/environ).
  const agentProcess = planExecProcess({ user: { uid: 0, gid: 0, home: '/root' }, env: { PATH: DEFAULT_PATH }, args: ['/proc/self/fd/4', '-f', '3'], noNewPrivileges: ctx.noNewPrivileges });
  let failure: string | undefined;
  try {
    await writeFile(processFile, JSON.stringify(agentProcess), { mode: 0o600 });
    const args = ['exec', '--process', processFile, '--preserve-fds', '2', sandbox.id];
    const result = await runtimeCall(ctx, args, 10_000, undefined, planAgentPrefix(launcher, binary, sandbox.paths.agentSocket));
    if (result.code !== 0) failure = `exit ${result.code}: ${result.stderr.trim().slice(0, 500)}`;
  } catch (err) {
    failure = (err as Error).message;
  } finally {
    await rm(processFile, { force: true });
  }
  if (failure === undefined) return;
  await unlink(sandbox.paths.agentSocket).catch(() => undefined);
  await appendFile(sandbox.paths.log, `hutch: the exec agent did not start; exec uses the runtime: ${failure.split(ctx.dataDir).join('<data>')}\n`).catch(() => undefined);
}

/** Removes the socket of a stopped container's agent (a start binds a new one either way). */
export async function forgetExecAgent(sandbox: ContainerSandbox): Promise<void> {
  await unlink(sandbox.paths.agentSocket).catch(() => undefined);
}
