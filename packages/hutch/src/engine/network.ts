/**
 * Network policy of live sandboxes: read it, change it while the sandbox runs (journaled as the
 * `network` effect, announced as a `sandbox.network` event), and read the egress decision log.
 * Needs `network.egress_rules` from the backend for changes and the log.
 */
import { CapabilityMissingError } from '../domain/errors.js';
import { validateNetworkPolicy } from '../domain/network-rules.js';
import type { NetworkDecision, NetworkPolicy } from '../domain/sandbox.js';
import { assertStateIn, type SandboxState } from '../domain/sandbox-state.js';
import { hasCapability } from '../port/capabilities.js';
import type { IsolationBackend } from '../port/isolation-backend.js';
import type { EngineContext } from './context.js';
import { assertNeeds, sandboxNeeds } from './requirements.js';
import type { SandboxRow } from './store.js';

const LIVE: SandboxState[] = ['running', 'paused', 'stopped'];

/** What the journal and events may say about a policy: shape, counts and host names; no values. */
export function summarizePolicy(policy: NetworkPolicy): Record<string, unknown> {
  return {
    mode: policy.mode,
    rules: policy.rules?.length ?? 0,
    audit: policy.audit === true,
    injectHosts: [...new Set((policy.inject ?? []).map((i) => i.host))],
    exposedPorts: policy.exposedPorts?.length ?? 0,
  };
}

export class Network {
  constructor(private readonly ctx: EngineContext) {}

  /** The sandbox's policy (any state, tombstones included). */
  get(sandboxId: string): NetworkPolicy {
    return JSON.parse(this.ctx.row(sandboxId).network) as NetworkPolicy;
  }

  private async egressBackend(row: SandboxRow, why: string): Promise<IsolationBackend & Required<Pick<IsolationBackend, 'updateNetwork' | 'networkDecisions' | 'followNetworkDecisions'>>> {
    const backend = this.ctx.backendOf(row);
    if (!backend.updateNetwork || !backend.networkDecisions || !backend.followNetworkDecisions || !hasCapability(await this.ctx.report(backend), 'network.egress_rules')) {
      throw new CapabilityMissingError('network.egress_rules', backend.name, why);
    }
    return backend as never;
  }

  /**
   * Replaces the policy (running, paused or stopped only). New connections and lookups use it as
   * soon as this returns. Throws `BadRequestError` for an invalid policy (or one naming a secret the
   * sandbox lacks), `CapabilityMissingError` when the backend cannot apply it.
   */
  async update(sandboxId: string, policy: NetworkPolicy): Promise<NetworkPolicy> {
    return this.ctx.locks.run(sandboxId, async () => {
      const row = this.ctx.row(sandboxId);
      assertStateIn(row.state as SandboxState, LIVE, 'change the network policy of');
      validateNetworkPolicy({ ...policy, inject: [] }, new Set());
      const backend = await this.egressBackend(row, 'change the network policy of a sandbox');
      assertNeeds(backend.name, await this.ctx.report(backend), sandboxNeeds({ resources: {}, network: policy }));
      const summary = summarizePolicy(policy);
      await this.ctx.journal.effect({ sandboxId, effect: 'network', summary }, () => backend.updateNetwork(sandboxId, policy));
      this.ctx.store.updateSandbox(sandboxId, { network: JSON.stringify(policy) });
      this.ctx.events.emit(sandboxId, 'sandbox.network', summary);
      return policy;
    });
  }

  /** Stored egress decisions after `afterSeq`, oldest first. */
  async decisions(sandboxId: string, query: { afterSeq?: number; limit?: number } = {}): Promise<NetworkDecision[]> {
    const row = this.ctx.row(sandboxId);
    if (!LIVE.includes(row.state as SandboxState)) return [];
    const backend = await this.egressBackend(row, 'read the egress decision log');
    return backend.networkDecisions(sandboxId, query);
  }

  /** Stored then live decisions until the signal aborts. */
  async follow(sandboxId: string, afterSeq: number, signal: AbortSignal): Promise<AsyncIterable<NetworkDecision>> {
    const row = this.ctx.row(sandboxId);
    assertStateIn(row.state as SandboxState, LIVE, 'follow the egress decisions of');
    const backend = await this.egressBackend(row, 'follow the egress decision log');
    return backend.followNetworkDecisions(sandboxId, afterSeq, signal);
  }
}
