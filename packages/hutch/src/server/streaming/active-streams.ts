/**
 * The streams and sockets the server has open, so that shutdown can end them all: each gets an
 * AbortController, aborted when its client goes away or when the server closes.
 */
export class ActiveStreams {
  private readonly open = new Set<AbortController>();

  /** A controller for a new stream; `release` it when the stream ends. */
  acquire(): AbortController {
    const controller = new AbortController();
    this.open.add(controller);
    return controller;
  }

  release(controller: AbortController): void {
    this.open.delete(controller);
  }

  get size(): number {
    return this.open.size;
  }

  /** Aborts every open stream (server shutdown). */
  abortAll(reason = 'server shutting down'): void {
    for (const controller of this.open) controller.abort(new Error(reason));
    this.open.clear();
  }
}
