/**
 * Network of the microVM tier (docs/network.md), the same egress policy as the process and
 * container tiers:
 * - `none` at create: the VM has no network device at all (only `lo` in the guest).
 * - `internet` / `rules` at create: a virtio-net NIC on QEMU's user-mode network (libslirp, run
 *   inside the QEMU process; `ipv6=off`, no tftp, smb or host forwards). QEMU starts with the
 *   egress shim preloaded (native/egress-shim.c), so every outbound TCP connect and DNS query
 *   libslirp makes for the guest goes to the sandbox's egress proxy (host/egress), which judges it
 *   by the policy, logs it, counts it and injects secrets. Without the proxy (a template-snapshot
 *   VM) the shim fails closed. libslirp maps the guest's 10.0.2.2 (any 10.0.2.x but the resolver
 *   10.0.2.3) to the host's 127.0.0.1 (QEMU has no `--disable-host-loopback`): this tier's proxy
 *   refuses 127.0.0.0/8 always, even to a /32 allow rule (`host_guard`), so loopback stays closed.
 * Whether a VM has a NIC is part of its shape, fixed at create: memory snapshots need identical
 * devices. A policy change swaps the proxy's policy; it cannot give a NIC to a VM created without.
 */
import { CapabilityMissingError } from '../../domain/errors.js';
import { needsEgress, validateNetworkPolicy } from '../../domain/network-rules.js';
import type { NetworkPolicy } from '../../domain/sandbox.js';
import { trustBundle } from '../../host/egress/ca.js';
import { CA_BUNDLE_PATH, ensureSandboxCa, wantsSandboxCa } from '../../host/egress/sandbox-ca.js';
import { getVm, writeVmConfig, type MicrovmContext, type Vm } from './context.js';
import { writePath } from './files.js';
import type { VmShape } from './plan.js';

/** True when the VM has a network device (it was created with network `internet` or `rules`). */
export function hasNic(vm: { shape: VmShape }): boolean {
  return vm.shape.network === 'internet';
}

/**
 * Refuses a policy that needs network for a VM shape without a NIC (a restore of a `none`
 * snapshot, a policy change of a `none` VM): `CapabilityMissingError`, never a silent `none`.
 */
export function assertNicFor(shape: VmShape, policy: NetworkPolicy): void {
  if (needsEgress(policy) && shape.network === 'none') {
    throw new CapabilityMissingError('network.internet', 'microvm', 'give network to a VM created with network "none", which has no network device (create the sandbox with network "internet" or "rules" instead)');
  }
}

/** The environment QEMU runs with: its own without a NIC; with one, the egress shim's (fails closed without a proxy). */
export async function qemuEnv(ctx: MicrovmContext, vm: Vm): Promise<NodeJS.ProcessEnv | undefined> {
  if (!hasNic(vm)) return undefined;
  if (!(await ctx.egress.ensureShim())) throw new CapabilityMissingError('network.internet', 'microvm', 'give a VM network (the egress shim could not be built: install gcc)');
  return { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...ctx.egress.shimEnv(vm.id) };
}

/** Creates the VM's egress CA when it has secrets to inject and a NIC (the proxy terminates TLS with it). */
export async function prepareVmCa(vm: Vm): Promise<void> {
  if (hasNic(vm) && wantsSandboxCa(vm.spec)) await ensureSandboxCa(vm.id, vm.paths.dir);
}

/**
 * Starts the VM's egress proxy, before QEMU starts (`launch`) or for a QEMU that survived a server
 * restart (`adopt`: the resolver listens on the port that QEMU was given). No NIC: nothing.
 */
export async function attachEgress(ctx: MicrovmContext, vm: Vm, how: 'launch' | 'adopt'): Promise<void> {
  if (!hasNic(vm)) return;
  await ctx.egress.attach({
    backend: 'microvm', sandboxId: vm.id, dir: vm.paths.dir, policy: vm.spec.network, secrets: vm.spec.secrets, refuseLoopback: true,
    ...(how === 'launch' ? { launchesShim: true } : {}),
  });
}

/** After a boot or restore: the guest's system trust bundle = the host's roots + the VM's egress CA (secrets only). */
export async function installGuestCa(vm: Vm): Promise<void> {
  if (!hasNic(vm) || !wantsSandboxCa(vm.spec) || !vm.agent) return;
  const ca = await ensureSandboxCa(vm.id, vm.paths.dir);
  await writePath(vm.agent, CA_BUNDLE_PATH, Buffer.from(await trustBundle(ca)), 0o644, true);
}

/**
 * Replaces the policy of a VM (any state); the proxy judges new connections and lookups by it at
 * once. A VM with a NIC may go to `none` (the proxy then refuses everything; the NIC stays).
 */
export async function updateVmNetwork(ctx: MicrovmContext, id: string, policy: NetworkPolicy): Promise<void> {
  const vm = getVm(ctx, id);
  validateNetworkPolicy(policy, new Set((vm.spec.secrets ?? []).map((s) => s.name)));
  assertNicFor(vm.shape, policy);
  vm.spec = { ...vm.spec, network: policy };
  await writeVmConfig(vm);
  ctx.egress.setPolicy(id, policy);
}
