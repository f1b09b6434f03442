/**
 * Connections with a request in flight for a sandbox (envd calls, proxied requests), by sandbox. A
 * keep-alive socket is tracked only while it carries such a request, since the client may reuse it
 * for another sandbox afterwards. When a sandbox is killed, paused or stopped its
 * sockets are destroyed (not ended): E2B clients read a dropped connection followed by a 502 on
 * `/health` as "the sandbox was killed while the request was in flight", and a graceful end would
 * look like a normal end of stream instead.
 */
import type { Socket } from 'node:net';
import type { Engine } from '../../engine/engine.js';

/** Engine events after which a sandbox's connections must go. */
const GONE_EVENTS = new Set(['sandbox.destroyed', 'sandbox.paused', 'sandbox.stopped', 'sandbox.failed']);

export class SandboxSockets {
  private readonly open = new Map<string, Set<Socket>>();

  /** Tracks `socket` for `sandboxId` until it closes or `release` (returned) is called. */
  add(sandboxId: string, socket: Socket): () => void {
    let set = this.open.get(sandboxId);
    if (!set) this.open.set(sandboxId, (set = new Set()));
    const tracked = set;
    tracked.add(socket);
    const release = () => {
      socket.off('close', release);
      tracked.delete(socket);
      if (tracked.size === 0 && this.open.get(sandboxId) === tracked) this.open.delete(sandboxId);
    };
    socket.once('close', release);
    return release;
  }

  /** Destroys every tracked socket of `sandboxId`. */
  drop(sandboxId: string): void {
    const set = this.open.get(sandboxId);
    if (!set) return;
    this.open.delete(sandboxId);
    for (const socket of set) socket.destroy();
  }

  count(sandboxId: string): number {
    return this.open.get(sandboxId)?.size ?? 0;
  }

  /**
   * Follows the engine's events and drops sockets of sandboxes that stop running, until `signal`
   * aborts. Stored events are replayed first; they find no sockets (none are open yet at start).
   */
  async follow(engine: Engine, signal: AbortSignal): Promise<void> {
    for await (const event of engine.followEvents({}, signal)) {
      if (GONE_EVENTS.has(event.type)) this.drop(event.sandboxId);
    }
  }
}
