/**
 * The container tier's exec agent (native/hutch-agent.c, the process tier's) is the container's
 * init: `crun run` starts it as pid 1 (plan.ts `AGENT_INIT_ARGS`, with the OCI process a root exec
 * gets: the same capabilities, seccomp profile, no_new_privs setting, namespaces and cgroups), so
 * its commands inherit exactly that, and it setuid/setgid's for other users as the runtime would.
 * The run call goes through `hutch-launch listen` (native/hutch-launch.c), which binds the agent's
 * listening socket on the host (`paths.agentSocket`, mode 0600, in the sandbox's host-only dir) and
 * opens the agent binary; they reach the container as fds 3 and 4 (`--preserve-fds 2`), and pid 1
 * runs `/proc/self/fd/4 -f 3 -1`: no mount of the binary, no path of it inside, and no runtime
 * call beyond `run`. It lives exactly as long as the container, so a server restart (adopt) finds
 * it at the same path. Without it (no gcc, `tools.agent: ''`, a path too long for a unix address, a
 * runtime other than crun) pid 1 is the shell init and exec uses `crun exec` (exec.ts), with the
 * same results; so does a container started by an older version (a daemon agent started by `crun
 * exec`, or none: exec falls back when the socket does not answer).
 */
import { unlink } from 'node:fs/promises';
import { fitsSocketAddress } from '../../host/agent-exec.js';
import { DEFAULT_AGENT_PATH, DEFAULT_LAUNCHER_PATH, ensureAgent, ensureLauncher, planLaunchListenArgv } from '../../host/launcher.js';
import type { ContainerTools } from './capabilities.js';
import type { ContainerContext, ContainerSandbox } from './context.js';

/** Builds (if needed) hutch-launch and hutch-agent; undefined when either is disabled or unusable. */
export async function ensureAgentTools(tools: ContainerTools): Promise<{ launcher: string; binary: string } | undefined> {
  if (tools.launcher === '' || tools.agent === '') return undefined;
  const launcher = await ensureLauncher(tools.launcher ?? DEFAULT_LAUNCHER_PATH);
  const binary = launcher ? await ensureAgent(tools.agent ?? DEFAULT_AGENT_PATH) : undefined;
  return launcher && binary ? { launcher, binary } : undefined;
}

/** True when this sandbox's init is the agent (it is whenever it can be). */
export function agentUsable(ctx: ContainerContext, sandbox: ContainerSandbox): boolean {
  return ctx.agent !== undefined && fitsSocketAddress(sandbox.paths.agentSocket);
}

/** The prefix of the `run` call when the agent is the init; empty otherwise. */
export function agentRunPrefix(ctx: ContainerContext, sandbox: ContainerSandbox): string[] {
  return agentUsable(ctx, sandbox) ? planLaunchListenArgv(ctx.agent!.launcher, ctx.agent!.binary, sandbox.paths.agentSocket) : [];
}

/** Removes the socket of a stopped container's agent (a start binds a new one either way). */
export async function forgetExecAgent(sandbox: ContainerSandbox): Promise<void> {
  await unlink(sandbox.paths.agentSocket).catch(() => undefined);
}
