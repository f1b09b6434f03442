/**
 * The process tier's exec agent (native/hutch-agent.c): started in every sandbox right after its
 * init, through `hutch-launch exec -L -x` (so it has exactly what an exec'd root command has:
 * namespaces, cgroups, seccomp filter, capabilities), listening on a socket that exists only on
 * the host (`paths.agentSocket`). Exec then goes through it (host/agent-exec.ts) instead of a
 * launcher process per command. Without it (no gcc, the agent killed from inside, a socket path too
 * long for a unix address) exec falls back to the launcher, with the same results.
 */
import { execFile } from 'node:child_process';
import { appendFile, unlink } from 'node:fs/promises';
import { DEFAULT_PATH } from '../../host/exec-plan.js';
import { fitsSocketAddress } from '../../host/agent-exec.js';
import { planLaunchAgentArgv } from '../../host/launcher.js';
import type { BackendContext, ProcessSandbox } from './context.js';
import { cgroupProcsFiles } from './plan.js';

/** True when this sandbox can have an agent at all. */
export function agentUsable(ctx: BackendContext, sandbox: ProcessSandbox): boolean {
  return ctx.agent !== undefined && ctx.launcher !== undefined && fitsSocketAddress(sandbox.paths.agentSocket);
}

/**
 * Starts the agent in the running sandbox. Never throws: a failure is written to the sandbox's init
 * log (host only) and exec keeps using the launcher.
 */
export async function startExecAgent(ctx: BackendContext, sandbox: ProcessSandbox, initPid: number): Promise<void> {
  if (!agentUsable(ctx, sandbox)) return;
  const argv = planLaunchAgentArgv({
    launcher: ctx.launcher!, agent: ctx.agent!, socket: sandbox.paths.agentSocket, initPid,
    cgroupProcs: cgroupProcsFiles(ctx.layout, sandbox.id), seccompFile: sandbox.paths.seccomp,
  });
  // A fixed environment: the agent's own is readable from inside the sandbox (/proc/<pid>/environ).
  const failure = await new Promise<string | undefined>((resolve) => {
    execFile(argv[0]!, argv.slice(1), { env: { PATH: DEFAULT_PATH }, cwd: '/', timeout: 10_000 }, (err, _out, stderr) => resolve(err ? `${err.message} ${stderr}`.trim() : undefined));
  });
  if (failure === undefined) return;
  await unlink(sandbox.paths.agentSocket).catch(() => undefined);
  await appendFile(sandbox.paths.initLog, `hutch: the exec agent did not start; exec uses the launcher: ${failure}\n`).catch(() => undefined);
}
