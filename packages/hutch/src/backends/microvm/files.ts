/**
 * The files API over the guest agent. Paths are normalised on the host (`..` and NUL refused)
 * before they reach the guest; the guest's whole filesystem is the sandbox, so a symlink resolves
 * inside the VM and cannot reach the host.
 */
import type { FileEntry, FileEvent } from '../../domain/files.js';
import { normalizeSandboxPath } from '../../port/sandbox-path.js';
import type { AgentChannel } from './agent-channel.js';
import { chunkBytes, FILE_CHUNK_BYTES } from './agent-protocol.js';
import type { Vm } from './context.js';
import { guestFileError } from './errors.js';

interface GuestEntry {
  name: string;
  path: string;
  type: FileEntry['type'];
  size: number;
  mode: number;
  mtime: number;
  target?: string;
}

function toEntry(e: GuestEntry): FileEntry {
  const entry: FileEntry = { name: e.name, path: e.path, type: e.type, size: e.size, mode: e.mode, modifiedAt: new Date(e.mtime * 1000).toISOString() };
  if (e.target !== undefined) entry.symlinkTarget = e.target;
  return entry;
}

async function call<T extends Record<string, unknown>>(agent: AgentChannel, path: string, op: string, args: Record<string, unknown>): Promise<T> {
  try {
    return await agent.request<T>(op, args, { timeoutMs: 120_000 });
  } catch (err) {
    throw guestFileError(err, path);
  }
}

export async function statPath(agent: AgentChannel, path: string): Promise<FileEntry> {
  const p = normalizeSandboxPath(path);
  return toEntry((await call<{ entry: GuestEntry }>(agent, p, 'stat', { path: p })).entry);
}

export async function readPath(agent: AgentChannel, path: string): Promise<AsyncIterable<Uint8Array>> {
  const p = normalizeSandboxPath(path);
  // Fail before returning the stream: a missing file is an error of the call, not of the iteration.
  const first = await call<{ d: string; eof: boolean }>(agent, p, 'read', { path: p, offset: 0, len: FILE_CHUNK_BYTES });
  return (async function* () {
    let chunk = first;
    let offset = 0;
    for (;;) {
      const data = Buffer.from(chunk.d, 'base64');
      if (data.length > 0) yield data;
      offset += data.length;
      if (chunk.eof) return;
      chunk = await call<{ d: string; eof: boolean }>(agent, p, 'read', { path: p, offset, len: FILE_CHUNK_BYTES });
    }
  })();
}

export async function writePath(agent: AgentChannel, path: string, data: Uint8Array | AsyncIterable<Uint8Array>, mode = 0o644, parents = true): Promise<FileEntry> {
  const p = normalizeSandboxPath(path);
  let first = true;
  let last: GuestEntry | undefined;
  const send = async (bytes: Uint8Array) => {
    for (const piece of chunkBytes(bytes)) {
      last = (await call<{ entry: GuestEntry }>(agent, p, 'write', { path: p, d: Buffer.from(piece).toString('base64'), append: !first, mode, parents })).entry;
      first = false;
    }
  };
  if (data instanceof Uint8Array) await send(data);
  else for await (const piece of data) await send(piece);
  if (first) await send(new Uint8Array());
  return toEntry(last!);
}

export async function listPath(agent: AgentChannel, path: string, depth: number): Promise<FileEntry[]> {
  const p = normalizeSandboxPath(path);
  return (await call<{ entries: GuestEntry[] }>(agent, p, 'list', { path: p, depth: Math.max(1, depth) })).entries.map(toEntry);
}

export async function mkdirPath(agent: AgentChannel, path: string, parents: boolean): Promise<FileEntry> {
  const p = normalizeSandboxPath(path);
  return toEntry((await call<{ entry: GuestEntry }>(agent, p, 'mkdir', { path: p, parents })).entry);
}

export async function movePath(agent: AgentChannel, from: string, to: string): Promise<FileEntry> {
  const a = normalizeSandboxPath(from);
  const b = normalizeSandboxPath(to);
  return toEntry((await call<{ entry: GuestEntry }>(agent, a, 'move', { from: a, to: b })).entry);
}

export async function removePath(agent: AgentChannel, path: string, recursive: boolean): Promise<void> {
  const p = normalizeSandboxPath(path);
  await call(agent, p, 'remove', { path: p, recursive });
}

/** Yields inotify events from the guest under `path` until `signal` aborts, the consumer stops or the VM goes. */
export async function* watchPath(vm: Vm, agent: AgentChannel, path: string, recursive: boolean, signal?: AbortSignal): AsyncGenerator<FileEvent> {
  const p = normalizeSandboxPath(path);
  const wid = vm.nextWatchId++;
  const queue: FileEvent[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  vm.watchers.set(wid, { push: (e) => (queue.push(e), notify()), end: () => ((ended = true), notify()) });
  const onAbort = () => ((ended = true), notify());
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await call(agent, p, 'watch', { wid, path: p, recursive });
    for (;;) {
      while (queue.length > 0) yield queue.shift()!;
      if (ended) {
        signal?.throwIfAborted();
        return;
      }
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    vm.watchers.delete(wid);
    if (!agent.closed) void agent.request('unwatch', { wid }).catch(() => undefined);
  }
}
