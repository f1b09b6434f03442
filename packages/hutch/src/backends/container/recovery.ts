/**
 * Recovery after a server restart. Containers are detached (`run --detach`), so they outlive the
 * server; the runtime's state lives under `<dataDir>/runtime/<runtime>`. `adopt` asks the runtime
 * for the container's status (and trusts the recorded init pid only with a matching start time);
 * `reclaim` needs only the id: `delete --force`, the `hutch/<id>` cgroups, the overlay and the dir
 * are all derived from it.
 */
import { needsEgress } from '../../domain/network-rules.js';
import { readFile, stat } from 'node:fs/promises';
import type { SandboxSpec } from '../../domain/sandbox.js';
import type { AdoptOutcome, CleanupResult } from '../../port/isolation-backend.js';
import { isFrozen } from '../../host/cgroups.js';
import { mountOverlay } from '../../host/overlay.js';
import { processStartTime } from '../../host/proc.js';
import { runtimeRecord, type ContainerContext, type ContainerSandbox } from './context.js';
import { removeSandboxResources } from './lifecycle.js';
import { wantsSandboxCa } from '../../host/egress/sandbox-ca.js';
import { CONTAINER_ID_PATTERN, containerPaths, planMountTable } from './plan.js';
import { runtimeCall, runtimeState } from './runtime.js';

/** Re-attaches to `sandboxId` or reports it gone. */
export async function adoptSandbox(ctx: ContainerContext, sandboxId: string): Promise<AdoptOutcome> {
  const known = ctx.sandboxes.get(sandboxId);
  if (known) return outcome(ctx, known);
  if (!CONTAINER_ID_PATTERN.test(sandboxId)) return { status: 'gone', reason: 'not a container-backend sandbox id' };
  const paths = containerPaths(ctx.dataDir, sandboxId);
  const spec = await readFile(paths.specFile, 'utf8').then((t) => JSON.parse(t) as SandboxSpec, () => undefined);
  if (!spec?.rootfsPath || !(await stat(paths.upper).catch(() => undefined))) return { status: 'gone', reason: 'its files no longer exist' };
  await mountOverlay(spec.rootfsPath, paths);
  const sandbox: ContainerSandbox = { id: sandboxId, spec, paths, mounts: planMountTable(paths, spec.workspace, wantsSandboxCa(spec)), state: 'stopped', processes: new Map() };
  const state = await runtimeState(ctx, sandboxId);
  if (state && (state.status === 'running' || state.status === 'paused') && state.pid > 0) {
    sandbox.initPid = state.pid;
    sandbox.initStartTime = await processStartTime(state.pid);
    sandbox.state = state.status === 'paused' || (await isFrozen(ctx.layout, sandboxId)) ? 'paused' : 'running';
    // slirp4netns survived with the container; listen again where its shim connects.
    if (needsEgress(spec.network)) await ctx.egress.attach({ backend: 'container', sandboxId, dir: paths.dir, policy: spec.network, secrets: spec.secrets });
  } else if (state) {
    // Known to the runtime but its init is gone: remove the husk, keep the files (stopped).
    await runtimeCall(ctx, ['delete', '--force', sandboxId]);
  }
  ctx.sandboxes.set(sandboxId, sandbox);
  return outcome(ctx, sandbox);
}

function outcome(ctx: ContainerContext, sandbox: ContainerSandbox): AdoptOutcome {
  return { status: 'adopted', state: sandbox.state === 'created' ? 'stopped' : sandbox.state, record: runtimeRecord(ctx, sandbox) };
}

/** Removes everything `sandboxId` left behind, from the id alone (the record may be `{}`). */
export async function reclaimSandbox(ctx: ContainerContext, sandboxId: string): Promise<CleanupResult> {
  if (!CONTAINER_ID_PATTERN.test(sandboxId)) return { status: 'completed', summary: 'nothing to reclaim' };
  for (const p of ctx.sandboxes.get(sandboxId)?.processes.values() ?? []) p.markSandboxGone();
  const result = await removeSandboxResources(ctx, sandboxId);
  ctx.sandboxes.delete(sandboxId);
  return result;
}
