/**
 * Calls to the OCI runtime (crun, runc, runsc), through `planRuntimeArgv` (which adds the state dir,
 * the cgroup driver and, for crun on a hybrid cgroup host, the private-mount-namespace wrapper).
 */
import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import type { ContainerContext } from './context.js';
import { runtimeFailed } from './errors.js';
import { planRuntimeArgv } from './plan.js';

export interface RuntimeResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `<runtime> args…` to completion. Never throws for a non-zero exit; see `runtimeOk`. */
export function runtimeCall(ctx: ContainerContext, args: string[], timeoutMs = 30_000): Promise<RuntimeResult> {
  const argv = planRuntimeArgv(ctx.runtime, args);
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, cwd: '/', timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', (err) => resolve({ code: null, stdout, stderr: `${stderr}${err.message}` }));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs a runtime call and throws a redacted `BackendFailureError` when it fails. */
export async function runtimeOk(ctx: ContainerContext, args: string[], what: string): Promise<RuntimeResult> {
  const result = await runtimeCall(ctx, args);
  if (result.code !== 0) throw runtimeFailed(what, result, ctx.dataDir);
  return result;
}

/**
 * `run --detach`: creates and starts the container in one call. Its stdio goes to `logFile`, not to
 * pipes: the detached init inherits them and would hold a pipe open for its whole life.
 */
export async function runtimeRunDetached(ctx: ContainerContext, args: string[], logFile: string, rootMount: string): Promise<{ code: number | null }> {
  const argv = planRuntimeArgv(ctx.runtime, args, rootMount);
  const log = await open(logFile, 'w', 0o600);
  try {
    return await new Promise((resolve) => {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', log.fd, log.fd], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, cwd: '/' });
      child.once('error', () => resolve({ code: null }));
      child.once('exit', (code) => resolve({ code }));
    });
  } finally {
    await log.close();
  }
}

/** The runtime's view of a container: its status and init pid, or undefined when it does not know it. */
export async function runtimeState(ctx: ContainerContext, id: string): Promise<{ status: string; pid: number } | undefined> {
  const result = await runtimeCall(ctx, ['state', id]);
  if (result.code !== 0) return undefined;
  try {
    const state = JSON.parse(result.stdout) as { status?: string; pid?: number };
    return { status: state.status ?? 'unknown', pid: state.pid ?? 0 };
  } catch {
    return undefined;
  }
}
