/**
 * Port forwarding shared by the host-based tiers (`network.port_forward`): a TCP connection to the
 * loopback of a running sandbox through a relay that joins only its init's network namespace
 * (host/port-relay.ts), with the typed errors callers expect.
 *
 * The recorded init pid is checked right before the relay starts: it must still be the process
 * that was started (same start time) and must not share this server's network namespace, so a
 * dead init whose pid was reused can never turn the relay into a connection to the host's loopback.
 */
import type { Duplex } from 'node:stream';
import { BackendFailureError, BadRequestError, PortNotOpenError } from '../domain/errors.js';
import { connectInNetns, RelayConnectError } from './port-relay.js';
import { isSameProcess, networkNamespace } from './proc.js';

export interface SandboxPortTarget {
  sandboxId: string;
  /** Host pid of the sandbox's init and its start time (from /proc/<pid>/stat). */
  initPid: number;
  initStartTime: string | undefined;
  nsenterPath: string;
}

/** Throws `BadRequestError` unless `port` is a TCP port number (1–65535). */
export function checkPortNumber(port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new BadRequestError(`${port} is not a TCP port number.`, { port });
}

/**
 * Opens `port` on the sandbox's loopback (127.0.0.1, then ::1). Throws `PortNotOpenError` when
 * nothing listens, `BackendFailureError` when the init is gone or the relay fails, the abort
 * reason when `signal` aborts.
 */
export async function connectSandboxLoopback(target: SandboxPortTarget, port: number, signal?: AbortSignal): Promise<Duplex> {
  checkPortNumber(port);
  const { sandboxId, initPid } = target;
  const [same, netns, own] = await Promise.all([isSameProcess(initPid, target.initStartTime), networkNamespace(initPid), networkNamespace('self')]);
  if (!same || netns === undefined || netns === own) {
    throw new BackendFailureError("The sandbox's init process is gone; stop and start the sandbox.", { sandboxId, port });
  }
  try {
    return await connectInNetns({ pid: initPid, port, nsenterPath: target.nsenterPath, ...(signal ? { signal } : {}) });
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (err instanceof RelayConnectError && (err.errno === 'ECONNREFUSED' || err.errno === 'EADDRNOTAVAIL')) throw new PortNotOpenError(sandboxId, port);
    throw new BackendFailureError(`Could not open a connection to port ${port} in the sandbox.`, { sandboxId, port }, { cause: err });
  }
}
