/**
 * Port forwarding for the container tier (`network.port_forward`): a TCP connection to the loopback
 * of a running container, through a relay that joins only the network namespace of the
 * container's init (host/sandbox-port.ts). Nothing inside the container is trusted or run.
 */
import type { Duplex } from 'node:stream';
import { InvalidTransitionError } from '../../domain/errors.js';
import { checkPortNumber, connectSandboxLoopback } from '../../host/sandbox-port.js';
import { getSandbox, portState, type ContainerContext } from './context.js';

/** Opens `port` on the container's loopback; running sandboxes only (see connectSandboxLoopback). */
export async function connectSandboxPort(ctx: ContainerContext, id: string, port: number, signal?: AbortSignal): Promise<Duplex> {
  checkPortNumber(port);
  const sandbox = getSandbox(ctx, id);
  if (sandbox.state !== 'running' || sandbox.initPid === undefined) throw new InvalidTransitionError(portState(sandbox), 'running', 'connect to a port in');
  return connectSandboxLoopback({ sandboxId: id, initPid: sandbox.initPid, initStartTime: sandbox.initStartTime, nsenterPath: ctx.tools.nsenter }, port, signal);
}
