/**
 * Calls to the OCI runtime (crun, runc, runsc), through `planRuntimeArgv` (which adds the state dir,
 * the cgroup driver and, for crun on a hybrid cgroup host, the way into a private mount namespace
 * without the cgroup2: the backend's long-lived one (runtime-ns.ts) or a per-call wrapper).
 */
import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import type { ContainerContext } from './context.js';
import { runtimeFailed } from './errors.js';
import { overlayMountsOf, planRuntimeArgv } from './plan.js';
import { mountInfo } from '../../host/overlay.js';

/** What `hutch-mntns run` says when the holder is gone or its pid was reused. */
const HOLDER_GONE = 'hutch-mntns: holder namespace';

/**
 * The argv of one runtime call. `binds` (only for `run`): host paths the call must see in the
 * runtime namespace (the root overlay, workspace binds); their enclosing overlay mounts are cloned
 * in. `unmounts`: host mounts the helper unmounts first (destroy), when there is a helper.
 */
export async function runtimeArgv(ctx: ContainerContext, args: string[], extra: { rootMount?: string; binds?: string[]; unmounts?: string[] } = {}): Promise<string[]> {
  if (!ctx.runtimeNs || !ctx.runtime.hybridUnmount) return planRuntimeArgv(ctx.runtime, args, { keepMount: extra.rootMount ?? '' });
  const ns = await ctx.runtimeNs.ref();
  const binds = extra.binds?.length ? overlayMountsOf(await mountInfo(), extra.binds) : [];
  return planRuntimeArgv(ctx.runtime, args, { ns, binds, ...(extra.unmounts ? { unmounts: extra.unmounts } : {}) });
}

export interface RuntimeResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `<runtime> args…` to completion. Never throws for a non-zero exit; see `runtimeOk`.
 * `unmounts`: see `runtimeArgv` (best effort: the caller checks that they are gone). `prefix`: a
 * command the call is run through (the agent's `hutch-launch listen … --`).
 */
export async function runtimeCall(ctx: ContainerContext, args: string[], timeoutMs = 30_000, unmounts?: string[], prefix: string[] = []): Promise<RuntimeResult> {
  const extra = unmounts ? { unmounts } : {};
  const result = await spawnCall([...prefix, ...(await runtimeArgv(ctx, args, extra))], timeoutMs);
  if (!ctx.runtimeNs || result.code !== 125 || !result.stderr.startsWith(HOLDER_GONE)) return result;
  // The holder died (or its pid was reused) since it was last seen: start a new one, once.
  ctx.runtimeNs.invalidate();
  return spawnCall([...prefix, ...(await runtimeArgv(ctx, args, extra))], timeoutMs);
}

function spawnCall(argv: string[], timeoutMs: number): Promise<RuntimeResult> {
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
 * pipes: the detached init inherits them and would hold a pipe open for its whole life. `prefix`:
 * as for `runtimeCall` (the agent init's `hutch-launch listen … --`).
 */
export async function runtimeRunDetached(ctx: ContainerContext, args: string[], logFile: string, rootMount: string, binds: string[], prefix: string[] = []): Promise<{ code: number | null }> {
  const argv = [...prefix, ...(await runtimeArgv(ctx, args, { rootMount, binds: [rootMount, ...binds] }))];
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
