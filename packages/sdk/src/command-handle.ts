/**
 * A live process in a sandbox (from `commands.run(…, {background: true})` or `commands.connect`).
 * One reader pulls the process's output stream (replayable by `seq`), feeds the callbacks and keeps
 * the frames, so `wait()`, the callbacks and any number of `for await` loops see the same output.
 * A cut connection is resumed from the last `seq` seen.
 */
import type { ProcessFrame } from '@hutch/protocol';
import type { CallOptions } from './connection-config.js';
import { ProtocolError } from './errors.js';
import { decodeProcessFrames, encodeBase64, type CommandFrame, type ExitFrame } from './frames.js';
import type { HttpClient } from './http-client.js';
import { OutputCollector, type CommandResult, type OutputCallbacks } from './output-collector.js';

/** How many times a handle reconnects when the output stream ends before the exit. */
const MAX_RESUMES = 3;

/** Options of a command handle. */
export interface CommandHandleOptions extends OutputCallbacks {
  /** Replay output from this sequence number (default 1: everything kept). */
  fromSeq?: number;
  /** The command's timeout, quoted in the `TimeoutError` message. */
  timeoutMs?: number;
}

/** Signals accepted by `kill`. */
export type SignalName = 'SIGTERM' | 'SIGKILL' | 'SIGINT' | 'SIGHUP' | 'SIGQUIT' | 'SIGUSR1' | 'SIGUSR2' | 'SIGSTOP' | 'SIGCONT';

export class CommandHandle implements AsyncIterable<CommandFrame> {
  private readonly collector: OutputCollector;
  private readonly frames: CommandFrame[] = [];
  private readonly waiters: Array<() => void> = [];
  private readonly reader = new AbortController();
  private pump: Promise<CommandResult> | undefined;
  private lastSeq = 0;
  private ended = false;
  private failure: unknown;
  private exitFrame: ExitFrame | undefined;

  /** @internal Built by `Commands`; use `commands.run(…, {background: true})` or `commands.connect(pid)`. */
  constructor(
    readonly pid: number,
    private readonly http: HttpClient,
    private readonly basePath: string,
    private readonly options: CommandHandleOptions = {},
  ) {
    this.collector = new OutputCollector(options);
    this.lastSeq = (options.fromSeq ?? 1) - 1;
    if (options.onStdout || options.onStderr) this.start();
  }

  /** Output so far, as text. */
  get stdout(): string {
    return this.collector.stdout;
  }

  get stderr(): string {
    return this.collector.stderr;
  }

  /** The exit code once the process ended (as seen by this handle), else undefined. */
  get exitCode(): number | null | undefined {
    return this.exitFrame?.exitCode;
  }

  /**
   * Waits for the process to end and returns its result; a non-zero exit resolves. Throws
   * `TimeoutError` when the command ran past its timeout. Aborting `signal` stops the waiting only.
   */
  async wait(options: CallOptions = {}): Promise<CommandResult> {
    const done = this.start();
    if (!options.signal) return done;
    options.signal.throwIfAborted();
    const signal = options.signal;
    return new Promise<CommandResult>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      done.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** Sends a signal to the process (default `SIGKILL`). */
  async kill(signal: SignalName = 'SIGKILL', options: CallOptions = {}): Promise<void> {
    await this.http.json({ method: 'POST', path: `${this.basePath}/signal`, json: { signal } }, options);
  }

  /** Writes to the process's stdin (it must have been started with `keepStdinOpen`). */
  async sendStdin(data: string | Uint8Array, options: CallOptions = {}): Promise<void> {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    await this.http.json({ method: 'POST', path: `${this.basePath}/stdin`, json: { data: encodeBase64(bytes) } }, options);
  }

  /** Closes the process's stdin (EOF). */
  async closeStdin(options: CallOptions = {}): Promise<void> {
    await this.http.json({ method: 'POST', path: `${this.basePath}/stdin/close` }, options);
  }

  /** Resizes the process's PTY. */
  async resize(size: { cols: number; rows: number }, options: CallOptions = {}): Promise<void> {
    await this.http.json({ method: 'POST', path: `${this.basePath}/resize`, json: size }, options);
  }

  /** Stops reading output; the process keeps running (reattach with `commands.connect(pid)`). */
  disconnect(): void {
    this.reader.abort(new ProtocolError('The handle was disconnected.'));
  }

  /** Output frames from `fromSeq` on, then the exit frame. Several loops may read the same handle. */
  async *[Symbol.asyncIterator](): AsyncGenerator<CommandFrame, void, undefined> {
    const done = this.start();
    let index = 0;
    for (;;) {
      while (index < this.frames.length) yield this.frames[index++]!;
      if (this.failure !== undefined) throw this.failure;
      if (this.ended) {
        await done.catch(() => undefined);
        return;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private start(): Promise<CommandResult> {
    if (!this.pump) {
      this.pump = this.read();
      // The pump's failure reaches callers through wait() and the iterators; this keeps an
      // unobserved failure (callbacks only) from becoming an unhandled rejection.
      this.pump.catch(() => undefined);
    }
    return this.pump;
  }

  private async read(): Promise<CommandResult> {
    try {
      for (let attempt = 0; attempt <= MAX_RESUMES && !this.exitFrame; attempt++) {
        const request = { method: 'GET' as const, path: `${this.basePath}/output`, query: { from: this.lastSeq + 1 } };
        for await (const frame of decodeProcessFrames(this.http.ndjson<ProcessFrame>(request, { signal: this.reader.signal }))) this.accept(frame);
      }
      if (!this.exitFrame) throw new ProtocolError(`The output stream of pid ${this.pid} kept ending before the process exited.`);
    } catch (err) {
      this.failure = err;
      throw err;
    } finally {
      this.ended = true;
      this.notify();
    }
    // A timeout throws here, for wait(); iterators just end with the exit frame (reason `timeout`).
    return this.collector.finish(this.pid, this.exitFrame, this.options.timeoutMs);
  }

  private accept(frame: CommandFrame): void {
    if (frame.type === 'start') {
      if (this.frames.some((f) => f.type === 'start')) return;
    } else if (frame.type === 'output') {
      if (frame.seq <= this.lastSeq) return;
      this.lastSeq = frame.seq;
      this.collector.push(frame.stream, frame.data);
    } else {
      this.exitFrame = frame;
    }
    this.frames.push(frame);
    this.notify();
  }

  private notify(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}
