/**
 * Port forwarding for the process tier (`network.port_forward`): a TCP connection to the loopback of
 * a running sandbox, through a relay in the sandbox's network namespace (host/sandbox-port.ts).
 */
import type { Duplex } from 'node:stream';
import { InvalidTransitionError } from '../../domain/errors.js';
import { checkPortNumber, connectSandboxLoopback } from '../../host/sandbox-port.js';
import { getSandbox, type BackendContext } from './context.js';

/** Opens `port` on the sandbox's loopback; running sandboxes only (see connectSandboxLoopback). */
export async function connectSandboxPort(ctx: BackendContext, id: string, port: number, signal?: AbortSignal): Promise<Duplex> {
  checkPortNumber(port);
  const sandbox = getSandbox(ctx, id);
  if (sandbox.state !== 'running' || sandbox.initPid === undefined) throw new InvalidTransitionError(sandbox.state, 'running', 'connect to a port in');
  return connectSandboxLoopback({ sandboxId: id, initPid: sandbox.initPid, initStartTime: sandbox.initStartTime, nsenterPath: ctx.tools.nsenter }, port, signal);
}
