/**
 * Sandbox networking for the container tier (docs/network.md), the same path as the process
 * tier: `none` is the container's own empty network namespace; any other mode attaches
 * slirp4netns with the egress shim, leading only into the sandbox's egress proxy (host/egress).
 * A sandbox with secrets gets its own egress CA at create (`prepareCa`): the key stays in the
 * sandbox's host dir (`egress-ca/`, 0700, never mounted); the trust bundle (host roots + the CA
 * certificate) is bound read-only over the system bundle by the OCI config (plan.ts), and the
 * proxy, finding the CA, terminates TLS for hosts with injections. Port forwarding is in ports.ts.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { needsEgress, validateNetworkPolicy } from '../../domain/network-rules.js';
import type { NetworkPolicy } from '../../domain/sandbox.js';
import { ensureCa, trustBundle } from '../../host/egress/ca.js';
import { caDir } from '../../host/egress/sandbox-egress.js';
import { getSandbox, type ContainerContext, type ContainerSandbox } from './context.js';
import { cgroupProcsFiles } from '../../host/cgroup-plan.js';
import { CA_BUNDLE_FILE, planEtcFiles, wantsSandboxCa, type ContainerPaths } from './plan.js';

/** Starts the egress proxy and slirp4netns for a running init, when the policy wants network. */
export async function startNetwork(ctx: ContainerContext, sandbox: ContainerSandbox, initPid: number): Promise<void> {
  if (!needsEgress(sandbox.spec.network)) return;
  await ctx.egress.attach({
    backend: 'container', sandboxId: sandbox.id, dir: sandbox.paths.dir, policy: sandbox.spec.network, secrets: sandbox.spec.secrets,
    slirp: { initPid, cgroupProcs: cgroupProcsFiles(ctx.layout, sandbox.id), slirpPath: ctx.tools.slirp4netns, perlPath: ctx.tools.perl },
  });
}

/**
 * Creates the sandbox CA and writes the trust bundle into its generated `etc` dir (mode 0644: the
 * container reads it through a read-only bind), when the sandbox has secrets. Throws
 * `BackendFailureError` when openssl fails.
 */
export async function prepareCa(sandbox: { id: string; spec: ContainerSandbox['spec']; paths: Pick<ContainerPaths, 'dir' | 'etc'> }): Promise<void> {
  if (!wantsSandboxCa(sandbox.spec)) return;
  const ca = await ensureCa(caDir(sandbox.paths.dir), `Hutch sandbox ${sandbox.id} egress CA`);
  await writeFile(join(sandbox.paths.etc, CA_BUNDLE_FILE), await trustBundle(ca), { mode: 0o644 });
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
