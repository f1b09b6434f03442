/**
 * Recovery after a server restart. `adopt` re-attaches to a sandbox from its runtime record: the
 * init pid is trusted only if the process with that pid has the recorded start time (pids get
 * reused). `reclaim` needs only the id: every host resource's location is derived from it
 * (the sandbox dir, `hutch/<id>` cgroups), and every process of the sandbox is in those cgroups.
 */
import { readFile, stat } from 'node:fs/promises';
import type { SandboxSpec } from '../../domain/sandbox.js';
import type { AdoptOutcome, CleanupResult } from '../../port/isolation-backend.js';
import { cgroupPids, isFrozen, killAll } from '../../host/cgroups.js';
import { runtimeRecord, type BackendContext, type ProcessSandbox } from './context.js';
import { mountsFor, removeSandboxResources } from './lifecycle.js';
import { SANDBOX_ID_PATTERN, sandboxPaths } from './plan.js';
import { isSameProcess } from '../../host/proc.js';
import { needsEgress } from '../../domain/network-rules.js';

/** Re-attaches to `sandboxId` or reports it gone. */
export async function adoptSandbox(ctx: BackendContext, sandboxId: string, record: Record<string, unknown>): Promise<AdoptOutcome> {
  const known = ctx.sandboxes.get(sandboxId);
  if (known) return outcome(ctx, known);
  if (!SANDBOX_ID_PATTERN.test(sandboxId)) return { status: 'gone', reason: 'not a process-backend sandbox id' };
  const paths = sandboxPaths(ctx.dataDir, sandboxId);
  const spec = await readFile(paths.specFile, 'utf8').then((t) => JSON.parse(t) as SandboxSpec, () => undefined);
  if (!spec || !(await stat(paths.workspace).catch(() => undefined))) return { status: 'gone', reason: 'its files no longer exist' };
  const sandbox: ProcessSandbox = { id: sandboxId, spec, paths, mounts: await mountsFor(spec, paths), state: 'stopped', processes: new Map() };
  const initPid = typeof record.initPid === 'number' ? record.initPid : undefined;
  const initStartTime = typeof record.initStartTime === 'string' ? record.initStartTime : undefined;
  if (initPid !== undefined && initStartTime !== undefined && (await isSameProcess(initPid, initStartTime))) {
    sandbox.initPid = initPid;
    sandbox.initStartTime = initStartTime;
    sandbox.state = (await isFrozen(ctx.layout, sandboxId)) ? 'paused' : 'running';
    // slirp4netns survived with the sandbox; listen again where its shim connects.
    if (needsEgress(spec.network)) await ctx.egress.attach({ backend: 'process', sandboxId, dir: paths.dir, policy: spec.network, secrets: spec.secrets });
  } else if ((await cgroupPids(ctx.layout, sandboxId)).length > 0) {
    // The init is gone but something of the sandbox still runs: stop it, keep the files.
    await killAll(ctx.layout, sandboxId);
  }
  ctx.sandboxes.set(sandboxId, sandbox);
  return outcome(ctx, sandbox);
}

function outcome(ctx: BackendContext, sandbox: ProcessSandbox): AdoptOutcome {
  const state = sandbox.state === 'created' ? 'stopped' : sandbox.state;
  return { status: 'adopted', state, record: runtimeRecord(ctx, sandbox) };
}

/** Removes everything `sandboxId` left behind, from the id alone (the record may be `{}`). */
export async function reclaimSandbox(ctx: BackendContext, sandboxId: string, record: Record<string, unknown>): Promise<CleanupResult> {
  if (!SANDBOX_ID_PATTERN.test(sandboxId)) return { status: 'completed', summary: 'nothing to reclaim' };
  const known = ctx.sandboxes.get(sandboxId);
  for (const p of known?.processes.values() ?? []) p.markSandboxGone();
  const result = await removeSandboxResources(ctx, {
    id: sandboxId,
    paths: sandboxPaths(ctx.dataDir, sandboxId),
    initPid: known?.initPid ?? (typeof record.initPid === 'number' ? record.initPid : undefined),
    initStartTime: known?.initStartTime ?? (typeof record.initStartTime === 'string' ? record.initStartTime : undefined),
  });
  ctx.sandboxes.delete(sandboxId);
  return result;
}
