/**
 * A minimal QMP client over a unix socket (JSON lines, no dependencies). Connections are short:
 * open, run a few commands, close — QEMU's monitor serves one client at a time, and a restarted
 * server (or a second backend handle) must be able to reach a VM another handle also drives.
 */
import net from 'node:net';
import { BackendFailureError } from '../../domain/errors.js';
import { LineSplitter } from './agent-protocol.js';

export interface QmpClient {
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T>;
  close(): void;
}

/** Connects (retrying while the socket is not there yet), negotiates capabilities. */
export async function qmpConnect(path: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<QmpClient> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      return await connectOnce(path, Math.max(1000, deadline - Date.now()));
    } catch (err) {
      if (Date.now() > deadline) throw new BackendFailureError('The VM monitor (QMP) did not answer.', undefined, { cause: err });
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

function connectOnce(path: string, timeoutMs: number): Promise<QmpClient> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(path);
    const splitter = new LineSplitter();
    const pending: Array<{ resolve: (v: unknown) => void; reject: (e: Error) => void }> = [];
    let greeted = false;
    const timer = setTimeout(() => fail(new Error('QMP greeting timed out')), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      for (const p of pending.splice(0)) p.reject(err);
      reject(err);
    };
    const client: QmpClient = {
      execute<T>(command: string, args?: Record<string, unknown>): Promise<T> {
        return new Promise<T>((res, rej) => {
          if (socket.destroyed) return rej(new BackendFailureError(`QMP ${command}: the monitor connection is closed.`));
          pending.push({ resolve: res as (v: unknown) => void, reject: rej });
          socket.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
        });
      },
      close: () => socket.destroy(),
    };
    socket.setEncoding('utf8');
    socket.once('error', fail);
    socket.on('close', () => {
      for (const p of pending.splice(0)) p.reject(new BackendFailureError('The VM monitor connection closed.'));
    });
    socket.on('data', (chunk: string) => {
      for (const line of splitter.push(chunk)) {
        const msg = JSON.parse(line) as { QMP?: unknown; event?: string; return?: unknown; error?: { desc: string } };
        if (msg.QMP && !greeted) {
          greeted = true;
          client.execute('qmp_capabilities').then(() => {
            clearTimeout(timer);
            socket.removeListener('error', fail);
            socket.on('error', () => undefined);
            resolve(client);
          }, fail);
        } else if (msg.event) {
          continue;
        } else {
          const p = pending.shift();
          if (!p) continue;
          if (msg.error) p.reject(new BackendFailureError(`QMP error: ${msg.error.desc}`));
          else p.resolve(msg.return);
        }
      }
    });
  });
}

/** Runs `fn` with a fresh QMP connection and closes it afterwards. */
export async function withQmp<T>(path: string, fn: (qmp: QmpClient) => Promise<T>, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<T> {
  const qmp = await qmpConnect(path, options);
  try {
    return await fn(qmp);
  } finally {
    qmp.close();
  }
}

/** Polls `query-migrate` until the migration completes; throws when it fails. */
export async function waitMigration(qmp: QmpClient, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await qmp.execute<{ status?: string; 'error-desc'?: string }>('query-migrate');
    if (info.status === 'completed') return;
    if (info.status === 'failed' || info.status === 'cancelled') throw new BackendFailureError(`The VM state migration ${info.status}: ${info['error-desc'] ?? 'no detail'}.`);
    if (Date.now() > deadline) throw new BackendFailureError('The VM state migration did not finish in time.');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Polls `query-status` until it reports one of `statuses`. */
export async function waitStatus(qmp: QmpClient, statuses: string[], timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status } = await qmp.execute<{ status: string }>('query-status');
    if (statuses.includes(status)) return status;
    if (status === 'internal-error' || status === 'guest-panicked') throw new BackendFailureError(`The VM stopped with status ${status}.`);
    if (Date.now() > deadline) throw new BackendFailureError(`The VM did not reach ${statuses.join('/')} in time (status ${status}).`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
