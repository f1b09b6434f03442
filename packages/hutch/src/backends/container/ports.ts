/**
 * Port forwarding for the container tier (`network.port_forward`): a TCP connection to the loopback
 * of a running container, through a relay that joins only the network namespace of the
 * container's init (host/port-relay.ts). The relay is the host's own Node with the host's
 * filesystem; nothing inside the container is trusted or run.
 *
 * The recorded init pid is checked right before the relay starts: it must still be the process
 * that was started (same start time) and must not share this server's network namespace, so a
 * dead init whose pid was reused can never turn the relay into a connection to the host's loopback.
 */
import type { Duplex } from 'node:stream';
import { BackendFailureError, BadRequestError, InvalidTransitionError, PortNotOpenError } from '../../domain/errors.js';
import { connectInNetns, RelayConnectError } from '../../host/port-relay.js';
import { isSameProcess, networkNamespace } from '../../host/proc.js';
import { getSandbox, portState, type ContainerContext } from './context.js';

/**
 * Opens `port` (1–65535) on the container's loopback (127.0.0.1, then ::1). Running sandboxes only.
 * Throws `BadRequestError` for a bad port, `InvalidTransitionError` when not running,
 * `PortNotOpenError` when nothing listens, `BackendFailureError` when the init is gone or the
 * relay fails.
 */
export async function connectSandboxPort(ctx: ContainerContext, id: string, port: number, signal?: AbortSignal): Promise<Duplex> {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new BadRequestError(`${port} is not a TCP port number.`, { port });
  const sandbox = getSandbox(ctx, id);
  const initPid = sandbox.initPid;
  if (sandbox.state !== 'running' || initPid === undefined) throw new InvalidTransitionError(portState(sandbox), 'running', 'connect to a port in');
  const [same, netns, own] = await Promise.all([isSameProcess(initPid, sandbox.initStartTime), networkNamespace(initPid), networkNamespace('self')]);
  if (!same || netns === undefined || netns === own) {
    throw new BackendFailureError("The sandbox's init process is gone; stop and start the sandbox.", { sandboxId: id, port });
  }
  try {
    return await connectInNetns({ pid: initPid, port, nsenterPath: ctx.tools.nsenter, ...(signal ? { signal } : {}) });
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (err instanceof RelayConnectError && (err.errno === 'ECONNREFUSED' || err.errno === 'EADDRNOTAVAIL')) throw new PortNotOpenError(id, port);
    throw new BackendFailureError(`Could not open a connection to port ${port} in the sandbox.`, { sandboxId: id, port }, { cause: err });
  }
}
