/**
 * The host end of the guest-agent channel: one unix-socket connection to QEMU's virtio-serial
 * chardev, kept open for the VM's life (while no host is connected the guest port reads EOF, so
 * staying connected is what lets the agent block instead of poll). Requests are matched to
 * replies by id; events are dispatched to the listener.
 */
import net from 'node:net';
import { BackendFailureError } from '../../domain/errors.js';
import { decodeMessage, encodeRequest, LineSplitter, type AgentEvent, type AgentReply } from './agent-protocol.js';

/** A request the agent refused; `errno` is the guest's errno name (`ENOENT`, ...). */
export class AgentRequestError extends Error {
  constructor(readonly errno: string, message: string) {
    super(message);
    this.name = 'AgentRequestError';
  }
}

export interface AgentChannel {
  request<T extends Record<string, unknown> = Record<string, unknown>>(op: string, args?: Record<string, unknown>, options?: { timeoutMs?: number }): Promise<T>;
  /** Sends without waiting for the reply (fire and forget, errors ignored). */
  readonly closed: boolean;
  close(): void;
}

export interface AgentListener {
  onEvent(event: AgentEvent): void;
  /** The connection ended (VM gone, or another host process took the channel over). */
  onClose(): void;
}

/** Connects to the agent socket, retrying while QEMU has not created it yet. */
export async function connectAgent(path: string, listener: AgentListener, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<AgentChannel> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let socket: net.Socket | undefined;
  while (!socket) {
    options.signal?.throwIfAborted();
    socket = await new Promise<net.Socket | undefined>((resolve) => {
      const s = net.createConnection(path);
      s.once('connect', () => resolve(s));
      s.once('error', () => resolve(undefined));
    });
    if (!socket) {
      if (Date.now() > deadline) throw new BackendFailureError('The VM agent socket did not appear.');
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  return openChannel(socket, listener);
}

function openChannel(socket: net.Socket, listener: AgentListener): AgentChannel {
  const splitter = new LineSplitter();
  const pending = new Map<number, { resolve: (r: AgentReply) => void; reject: (e: Error) => void; timer?: NodeJS.Timeout }>();
  let nextId = 1;
  let closed = false;
  socket.setEncoding('utf8');
  socket.on('error', () => undefined);
  socket.on('close', () => {
    closed = true;
    for (const [, p] of pending) {
      clearTimeout(p.timer);
      p.reject(new BackendFailureError('The VM agent connection closed.'));
    }
    pending.clear();
    listener.onClose();
  });
  socket.on('data', (chunk: string) => {
    for (const line of splitter.push(chunk)) {
      let message;
      try {
        message = decodeMessage(line);
      } catch {
        // The guest is untrusted: a malformed frame is dropped, never allowed to break the host.
        continue;
      }
      if (message.kind === 'event') {
        listener.onEvent(message.event);
        continue;
      }
      const p = pending.get(message.reply.id);
      if (!p) continue;
      pending.delete(message.reply.id);
      clearTimeout(p.timer);
      p.resolve(message.reply);
    }
  });
  return {
    get closed() {
      return closed;
    },
    request<T extends Record<string, unknown>>(op: string, args: Record<string, unknown> = {}, options: { timeoutMs?: number } = {}): Promise<T> {
      if (closed) return Promise.reject(new BackendFailureError('The VM agent connection is closed.'));
      const id = nextId++;
      return new Promise<AgentReply>((resolve, reject) => {
        const entry: { resolve: (r: AgentReply) => void; reject: (e: Error) => void; timer?: NodeJS.Timeout } = { resolve, reject };
        if (options.timeoutMs) {
          entry.timer = setTimeout(() => {
            pending.delete(id);
            reject(new BackendFailureError(`The VM agent did not answer "${op}" within ${options.timeoutMs} ms.`));
          }, options.timeoutMs);
        }
        pending.set(id, entry);
        socket.write(encodeRequest(id, op, args));
      }).then((reply) => {
        if (!reply.ok) throw new AgentRequestError(reply.errno, reply.message);
        return reply as unknown as T;
      });
    },
    close() {
      socket.destroy();
    },
  };
}
