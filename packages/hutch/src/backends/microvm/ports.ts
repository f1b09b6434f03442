/**
 * Port forwarding for the microVM tier (`network.port_forward`): a TCP connection to the loopback
 * of a running VM. A `none` VM has no network device (and a NIC leads only out, through the egress
 * proxy), so the guest agent opens the connection itself
 * (op `connect`: 127.0.0.1, then ::1) and carries its bytes over the agent channel:
 *
 *   host → guest  `conn_write {c, d}` (answered once the service has taken most of it: backpressure),
 *                 `conn_shut {c}` (our end is done), `conn_close {c}` (destroyed),
 *                 `conn_pause` / `conn_resume {c}` (the reader here is behind)
 *   guest → host  `{"ev":"conn","c",d}` data, `{"ev":"conn_end","c",errno}` the service closed
 *
 * Connection ids are chosen here and the connection is registered before `connect` is sent, so no
 * event can arrive for an id the host does not know yet. The agent closes every connection when a
 * new host says hello (start, restore, adopt), so ids never outlive the handle that chose them.
 */
import { Duplex } from 'node:stream';
import type { AgentChannel } from './agent-channel.js';
import { chunkBytes } from './agent-protocol.js';
import type { PortConnection, Vm } from './context.js';
import { guestPortError } from './errors.js';

/** What a connection needs of its VM (a `Vm` in the backend, a plain object in unit tests). */
export type PortTarget = Pick<Vm, 'id' | 'connections' | 'nextConnectionId'>;

/**
 * Opens `port` on the VM's loopback through the agent and returns the connection as a byte stream
 * (destroy it to close). The caller checks that the port number is valid and the VM is running.
 * Throws `PortNotOpenError` when nothing listens there, `BackendFailureError` for anything else the
 * agent reports (or a closed channel), the abort reason when `signal` aborts first.
 */
export async function connectGuestPort(target: PortTarget, agent: AgentChannel, port: number, signal?: AbortSignal): Promise<Duplex> {
  signal?.throwIfAborted();
  const connectionId = target.nextConnectionId++;
  const stream = new GuestPortStream(agent, connectionId, () => {
    if (target.connections.get(connectionId) === stream) target.connections.delete(connectionId);
  });
  target.connections.set(connectionId, stream);
  const connected = agent.request('connect', { c: connectionId, port });
  try {
    await untilAborted(connected, signal);
  } catch (err) {
    connected.catch(() => undefined);
    // After an abort the connect may still be pending in the guest: conn_close cancels it there.
    if (!signal?.aborted) stream.onEnd();
    stream.destroy();
    if (signal?.aborted) throw signal.reason;
    throw guestPortError(err, target.id, port);
  }
  return stream;
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => (signal.removeEventListener('abort', onAbort), resolve(value)),
      (err: unknown) => (signal.removeEventListener('abort', onAbort), reject(err)),
    );
  });
}

/**
 * One forwarded connection. Reading ends when the service closes (or the VM goes away); our write
 * side then ends too (`allowHalfOpen: false`, as a relayed socket behaves). Writes after the remote
 * end are dropped, like bytes sent to a socket the peer has closed.
 */
export class GuestPortStream extends Duplex implements PortConnection {
  /** The guest no longer holds this connection (ended, failed, or closed by us). */
  private gone = false;
  private paused = false;

  constructor(
    private readonly agent: AgentChannel,
    readonly connectionId: number,
    private readonly forget: () => void,
  ) {
    super({ allowHalfOpen: false });
  }

  onData(data: Buffer): void {
    if (this.gone) return;
    if (!this.push(data) && !this.paused) {
      this.paused = true;
      this.notify('conn_pause');
    }
  }

  onEnd(): void {
    if (this.gone) return;
    this.gone = true;
    this.forget();
    this.push(null);
  }

  override _read(): void {
    if (!this.paused || this.gone) return;
    this.paused = false;
    this.notify('conn_resume');
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.gone) return callback();
    void (async () => {
      // One frame per chunk keeps every line bounded; each waits for the agent (backpressure).
      for (const part of chunkBytes(chunk)) {
        if (this.gone) return;
        await this.agent.request('conn_write', { c: this.connectionId, d: Buffer.from(part).toString('base64') });
      }
    })().then(
      () => callback(),
      (err: unknown) => callback(this.gone ? null : toError(err)),
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.gone) return callback();
    this.agent.request('conn_shut', { c: this.connectionId }).then(
      () => callback(),
      (err: unknown) => callback(this.gone ? null : toError(err)),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.gone) {
      this.gone = true;
      this.forget();
      this.notify('conn_close');
    }
    callback(error);
  }

  /** A request whose answer nobody waits for (the connection may already be gone in the guest). */
  private notify(op: 'conn_pause' | 'conn_resume' | 'conn_close'): void {
    if (this.agent.closed) return;
    this.agent.request(op, { c: this.connectionId }).catch(() => undefined);
  }
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
