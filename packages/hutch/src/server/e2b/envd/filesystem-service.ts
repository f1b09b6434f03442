/**
 * envd's `filesystem.Filesystem` service over the engine's files API: Stat, MakeDir (parents
 * created; `already_exists` when the directory is there), Move, ListDir (depth 0 = 1), Remove
 * (recursive; a missing path is success, like `os.RemoveAll`), WatchDir (stream) and the polling
 * watchers (CreateWatcher, GetWatcherEvents, RemoveWatcher). Paths resolve against the user's home.
 */
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FileNotFoundError } from '../../../domain/errors.js';
import type { FileEvent } from '../../../domain/files.js';
import { withKeepalive } from '../../streaming/keepalive.js';
import { liveSandbox, type E2bContext } from '../context.js';
import { toConnectError } from '../errors.js';
import { EVENT_TYPES, toEntryInfo } from './entries.js';
import { Filesystem, type FilesystemEventSchema } from './gen/filesystem_pb.js';
import { envdCall } from './rpc-router.js';
import { homeOf, resolveUserPath } from './users.js';

type FilesystemEventInit = MessageInitShape<typeof FilesystemEventSchema>;

/**
 * How long after starting a watch its `start` event is sent. The port's `watch` arms lazily and
 * does not say when it is armed; E2B clients write right after `start`, so give it time.
 * TODO(#7): let the port signal when a watch is armed, and drop this delay.
 */
const WATCH_ARM_MS = 150;
/** Events a polling watcher keeps between two GetWatcherEvents calls. */
const MAX_WATCHER_EVENTS = 10_000;

interface Watcher {
  sandboxId: string;
  events: FilesystemEventInit[];
  controller: AbortController;
}

export function filesystemService(ctx: E2bContext): Partial<ServiceImpl<typeof Filesystem>> {
  const { engine } = ctx.server;
  const watchers = new Map<string, Watcher>();

  /** The call's sandbox and `path` made absolute for its user. */
  const target = async (context: HandlerContext, path: string) => {
    const call = envdCall(context);
    const info = liveSandbox(ctx, call.sandboxId);
    const home = homeOf(call.user ?? (await ctx.defaultUser(info)));
    return { sandboxId: call.sandboxId, path: resolveUserPath(path, home) };
  };
  const unary = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw toConnectError(err);
    }
  };

  /** Checks that `path` is a directory, starts the watch and waits for it to arm. */
  const startWatch = async (sandboxId: string, path: string, recursive: boolean, includeEntry: boolean, signal: AbortSignal): Promise<AsyncIterator<FilesystemEventInit>> => {
    const entry = await engine.files.stat(sandboxId, path);
    if (entry.type !== 'dir') throw new ConnectError(`${path} is not a directory.`, Code.InvalidArgument);
    const events = (async function* (): AsyncGenerator<FilesystemEventInit> {
      for await (const event of engine.files.watch(sandboxId, path, { recursive, signal })) yield await toEvent(sandboxId, path, event, includeEntry);
    })();
    const iterator = events[Symbol.asyncIterator]();
    const first = iterator.next();
    first.catch(() => undefined);
    await sleep(WATCH_ARM_MS, undefined, { signal }).catch(() => undefined);
    let primed: Promise<IteratorResult<FilesystemEventInit>> | undefined = first;
    return {
      next: () => {
        const next = primed ?? iterator.next();
        primed = undefined;
        return next;
      },
      return: async () => (await iterator.return?.(undefined)) ?? { done: true, value: undefined },
    };
  };

  const toEvent = async (sandboxId: string, root: string, event: FileEvent, includeEntry: boolean): Promise<FilesystemEventInit> => {
    const out: FilesystemEventInit = { name: posix.relative(root, event.path), type: EVENT_TYPES[event.type] };
    if (includeEntry && event.type !== 'remove') {
      // The file may be gone again by now; the event is still worth sending without its entry.
      const entry = await engine.files.stat(sandboxId, event.path).catch((err: unknown) => {
        if (err instanceof FileNotFoundError) return undefined;
        throw err;
      });
      if (entry) out.entry = toEntryInfo(entry);
    }
    return out;
  };

  return {
    stat: (request, context) =>
      unary(async () => {
        const { sandboxId, path } = await target(context, request.path);
        return { entry: toEntryInfo(await engine.files.stat(sandboxId, path)) };
      }),

    makeDir: (request, context) =>
      unary(async () => {
        const { sandboxId, path } = await target(context, request.path);
        const existing = await engine.files.stat(sandboxId, path).catch((err: unknown) => {
          if (err instanceof FileNotFoundError) return undefined;
          throw err;
        });
        if (existing?.type === 'dir') throw new ConnectError(`directory ${path} already exists`, Code.AlreadyExists);
        if (existing) throw new ConnectError(`${path} exists and is not a directory`, Code.InvalidArgument);
        const entry = await engine.files.mkdir(sandboxId, path, { parents: true });
        await ctx.chownToUser(sandboxId, envdCall(context).user, [path]);
        return { entry: toEntryInfo(entry) };
      }),

    move: (request, context) =>
      unary(async () => {
        const { sandboxId, path: source } = await target(context, request.source);
        const { path: destination } = await target(context, request.destination);
        return { entry: toEntryInfo(await engine.files.move(sandboxId, source, destination)) };
      }),

    listDir: (request, context) =>
      unary(async () => {
        const { sandboxId, path } = await target(context, request.path);
        const entry = await engine.files.stat(sandboxId, path);
        if (entry.type !== 'dir') throw new ConnectError(`${path} is not a directory`, Code.InvalidArgument);
        const entries = await engine.files.list(sandboxId, path, { depth: Math.max(1, request.depth) });
        return { entries: entries.map(toEntryInfo) };
      }),

    remove: (request, context) =>
      unary(async () => {
        const { sandboxId, path } = await target(context, request.path);
        await engine.files.remove(sandboxId, path, { recursive: true }).catch((err: unknown) => {
          if (!(err instanceof FileNotFoundError)) throw err;
        });
        return {};
      }),

    async *watchDir(request, context) {
      const { sandboxId, path } = await target(context, request.path).catch((err: unknown) => {
        throw toConnectError(err);
      });
      const iterator = await startWatch(sandboxId, path, request.recursive, request.includeEntry, context.signal).catch((err: unknown) => {
        throw toConnectError(err);
      });
      yield { event: { case: 'start', value: {} } };
      const source = { [Symbol.asyncIterator]: () => iterator };
      const events = withKeepalive<FilesystemEventInit | 'keepalive'>(source, { intervalMs: envdCall(context).keepaliveMs, keepalive: () => 'keepalive', signal: context.signal });
      for await (const item of events) yield { event: item === 'keepalive' ? { case: 'keepalive', value: {} } : { case: 'filesystem', value: item } };
    },

    createWatcher: (request, context) =>
      unary(async () => {
        const { sandboxId, path } = await target(context, request.path);
        const controller = new AbortController();
        const iterator = await startWatch(sandboxId, path, request.recursive, request.includeEntry, controller.signal);
        const watcherId = `w${randomBytes(8).toString('hex')}`;
        const watcher: Watcher = { sandboxId, events: [], controller };
        watchers.set(watcherId, watcher);
        void (async () => {
          for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
            if (watcher.events.length < MAX_WATCHER_EVENTS) watcher.events.push(r.value);
          }
        })().catch(() => watchers.delete(watcherId));
        return { watcherId };
      }),

    getWatcherEvents: (request, context) =>
      unary(async () => {
        const watcher = watchers.get(request.watcherId);
        if (!watcher || watcher.sandboxId !== envdCall(context).sandboxId) throw new ConnectError(`watcher ${request.watcherId} not found`, Code.NotFound);
        return { events: watcher.events.splice(0) };
      }),

    removeWatcher: (request, context) =>
      unary(async () => {
        const watcher = watchers.get(request.watcherId);
        if (!watcher || watcher.sandboxId !== envdCall(context).sandboxId) throw new ConnectError(`watcher ${request.watcherId} not found`, Code.NotFound);
        watcher.controller.abort();
        watchers.delete(request.watcherId);
        return {};
      }),
  };
}
