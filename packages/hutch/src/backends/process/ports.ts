/**
 * Port forwarding for the process tier (`network.port_forward`): a TCP connection to the loopback of
 * a running sandbox, through a relay in the sandbox's network namespace (host/port-relay.ts).
 */
import type { Duplex } from 'node:stream';
import { BackendFailureError, BadRequestError, InvalidTransitionError, PortNotOpenError } from '../../domain/errors.js';
import { connectInNetns, RelayConnectError } from '../../host/port-relay.js';
import { getSandbox, type BackendContext } from './context.js';

/** Opens `port` on the sandbox's loopback (running sandboxes only). */
export async function connectSandboxPort(ctx: BackendContext, id: string, port: number, signal?: AbortSignal): Promise<Duplex> {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new BadRequestError(`${port} is not a TCP port number.`, { port });
  const sandbox = getSandbox(ctx, id);
  if (sandbox.state !== 'running' || sandbox.initPid === undefined) throw new InvalidTransitionError(sandbox.state, 'running', 'connect to a port in');
  try {
    return await connectInNetns({ pid: sandbox.initPid, port, nsenterPath: ctx.tools.nsenter, ...(signal ? { signal } : {}) });
  } catch (err) {
    if (err instanceof RelayConnectError && (err.errno === 'ECONNREFUSED' || err.errno === 'EADDRNOTAVAIL')) throw new PortNotOpenError(id, port);
    throw new BackendFailureError(`Could not open a connection to port ${port} in the sandbox.`, { sandboxId: id, port }, { cause: err });
  }
}
