/**
 * Sandbox networking for the process tier (docs/network.md). `none` needs nothing here: bwrap's
 * own network namespace has only `lo`, so nothing is routable. Any other mode attaches
 * slirp4netns, with the egress shim preloaded, to that namespace: the sandbox's only way out, and
 * it leads into the sandbox's egress proxy (host/egress), which judges every connection and
 * lookup by the policy. Port forwarding (`connectPort`) is in ports.ts.
 */
import { writeFile } from 'node:fs/promises';
import { needsEgress, validateNetworkPolicy } from '../../domain/network-rules.js';
import type { NetworkPolicy } from '../../domain/sandbox.js';
import { getSandbox, type BackendContext, type ProcessSandbox } from './context.js';
import { cgroupProcsFiles, planEtcFiles } from './plan.js';

/** Starts the egress proxy and slirp4netns for a running init, when the policy wants network. */
export async function startNetwork(ctx: BackendContext, sandbox: ProcessSandbox, initPid: number): Promise<void> {
  if (!needsEgress(sandbox.spec.network)) return;
  await ctx.egress.attach({
    backend: 'process', sandboxId: sandbox.id, dir: sandbox.paths.dir, policy: sandbox.spec.network, secrets: sandbox.spec.secrets,
    slirp: { initPid, cgroupProcs: cgroupProcsFiles(ctx.layout, sandbox.id), slirpPath: ctx.tools.slirp4netns, perlPath: ctx.tools.perl, ...(ctx.launcher ? { launcherPath: ctx.launcher } : {}) },
  });
}

/** Replaces the policy; starts the egress path of a running sandbox that had none. */
export async function updateNetwork(ctx: BackendContext, id: string, policy: NetworkPolicy): Promise<void> {
  const sandbox = getSandbox(ctx, id);
  validateNetworkPolicy(policy, new Set((sandbox.spec.secrets ?? []).map((s) => s.name)));
  const before = sandbox.spec.network;
  sandbox.spec = { ...sandbox.spec, network: policy };
  await writeFile(sandbox.paths.specFile, JSON.stringify(sandbox.spec), { mode: 0o600 });
  if (before.mode === 'none' && policy.mode !== 'none') await writeFile(`${sandbox.paths.etc}/resolv.conf`, planEtcFiles(id, policy)['resolv.conf']!);
  ctx.egress.setPolicy(id, policy);
  if (sandbox.state === 'running' && sandbox.initPid !== undefined && needsEgress(policy) && !ctx.egress.has(id)) await startNetwork(ctx, sandbox, sandbox.initPid);
}
