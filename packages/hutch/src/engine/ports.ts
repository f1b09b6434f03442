/**
 * Ports inside sandboxes: TCP connections to a sandbox's loopback, for the server's port proxy
 * (E2B's `getHost(port)` and `E2b-Sandbox-Port`). Needs `network.port_forward` from the backend.
 */
import type { Duplex } from 'node:stream';
import { CapabilityMissingError } from '../domain/errors.js';
import { assertStateIn, type SandboxState } from '../domain/sandbox-state.js';
import { hasCapability } from '../port/capabilities.js';
import type { CallOptions } from '../port/isolation-backend.js';
import type { EngineContext } from './context.js';

export class Ports {
  constructor(private readonly ctx: EngineContext) {}

  /**
   * Opens a connection to `port` on the sandbox's loopback (running sandboxes only). Throws
   * `PortNotOpenError` when nothing listens there, `CapabilityMissingError` when the backend cannot
   * forward ports. Destroy the stream to close the connection.
   */
  async connect(sandboxId: string, port: number, options?: CallOptions): Promise<Duplex> {
    const row = this.ctx.row(sandboxId);
    assertStateIn(row.state as SandboxState, ['running'], 'connect to a port in');
    const backend = this.ctx.backendOf(row);
    if (!backend.connectPort || !hasCapability(await this.ctx.report(backend), 'network.port_forward')) {
      throw new CapabilityMissingError('network.port_forward', backend.name, 'connect to a port inside a sandbox');
    }
    return backend.connectPort(sandboxId, port, options);
  }
}
