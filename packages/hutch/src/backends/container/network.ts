/**
 * Sandbox networking for the container tier (docs/network.md), the same path as the process
 * tier: `none` is the container's own empty network namespace; any other mode attaches
 * slirp4netns with the egress shim, leading only into the sandbox's egress proxy (host/egress).
 * A sandbox with secrets gets its own egress CA at create (host/egress/sandbox-ca.ts), whose
 * trust bundle the OCI config binds read-only over the system bundle (plan.ts). Port forwarding
 * is in ports.ts.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { needsEgress, validateNetworkPolicy } from '../../domain/network-rules.js';
import type { NetworkPolicy } from '../../domain/sandbox.js';
import { getSandbox, type ContainerContext, type ContainerSandbox } from './context.js';
import { cgroupProcsFiles } from '../../host/cgroup-plan.js';
import { planEtcFiles } from './plan.js';

/** Starts the egress proxy and slirp4netns for a running init, when the policy wants network. */
export async function startNetwork(ctx: ContainerContext, sandbox: ContainerSandbox, initPid: number): Promise<void> {
  if (!needsEgress(sandbox.spec.network)) return;
  await ctx.egress.attach({
    backend: 'container', sandboxId: sandbox.id, dir: sandbox.paths.dir, policy: sandbox.spec.network, secrets: sandbox.spec.secrets,
    slirp: { initPid, cgroupProcs: cgroupProcsFiles(ctx.layout, sandbox.id), slirpPath: ctx.tools.slirp4netns, perlPath: ctx.tools.perl },
  });
}

/** Replaces the policy; starts the egress path of a running sandbox that had none. */
export async function updateNetwork(ctx: ContainerContext, id: string, policy: NetworkPolicy): Promise<void> {
  const sandbox = getSandbox(ctx, id);
  validateNetworkPolicy(policy, new Set((sandbox.spec.secrets ?? []).map((s) => s.name)));
  const before = sandbox.spec.network;
  sandbox.spec = { ...sandbox.spec, network: policy };
  await writeFile(sandbox.paths.specFile, JSON.stringify(sandbox.spec), { mode: 0o600 });
  if (before.mode === 'none' && policy.mode !== 'none') await writeFile(join(sandbox.paths.etc, 'resolv.conf'), planEtcFiles(id, policy)['resolv.conf']);
  ctx.egress.setPolicy(id, policy);
  if (sandbox.state === 'running' && sandbox.initPid !== undefined && needsEgress(policy) && !ctx.egress.has(id)) await startNetwork(ctx, sandbox, sandbox.initPid);
}
