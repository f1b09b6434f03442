/**
 * `sandbox.sessions`: persistent shells. A `Session` keeps its cwd, env and background jobs across
 * `run` calls; `destroy` kills its process group.
 */
import type { CommandResult as WireCommandResult, SessionFrame, SessionInfo } from '@hutch/protocol';
import type { CallOptions } from './connection-config.js';
import { ProtocolError } from './errors.js';
import { decodeSessionFrames, type SessionCommandFrame } from './frames.js';
import type { HttpClient } from './http-client.js';
import { OutputCollector, type CommandResult, type OutputCallbacks } from './output-collector.js';

/** Options of `sessions.create`. */
export interface SessionCreateOptions extends CallOptions {
  /** Starting directory of the shell. */
  cwd?: string;
  /** Extra environment variables of the shell. */
  env?: Record<string, string>;
}

/** Options of `session.run` and `session.stream`. */
export interface SessionRunOptions extends CallOptions, OutputCallbacks {
  /** Give up after this many milliseconds: the session is destroyed and `TimeoutError` thrown. */
  timeoutMs?: number;
}

export class Sessions {
  /** @internal Use `sandbox.sessions`. */
  constructor(
    private readonly http: HttpClient,
    private readonly sandboxPath: string,
  ) {}

  /** Starts a persistent shell (running sandboxes only). */
  async create(options: SessionCreateOptions = {}): Promise<Session> {
    const body: { cwd?: string; env?: Record<string, string> } = {};
    if (options.cwd !== undefined) body.cwd = options.cwd;
    if (options.env !== undefined) body.env = options.env;
    const info = await this.http.json<SessionInfo>({ method: 'POST', path: `${this.sandboxPath}/sessions`, json: body }, options);
    return new Session(info, this.http, this.sandboxPath);
  }

  /** The sandbox's sessions. */
  async list(options: CallOptions = {}): Promise<SessionInfo[]> {
    return this.http.json<SessionInfo[]>({ method: 'GET', path: `${this.sandboxPath}/sessions` }, options);
  }

  /** An existing session. Throws `NotFoundError` (`session_not_found`). */
  async get(sessionId: string, options: CallOptions = {}): Promise<Session> {
    const info = await this.http.json<SessionInfo>({ method: 'GET', path: `${this.sandboxPath}/sessions/${encodeURIComponent(sessionId)}` }, options);
    return new Session(info, this.http, this.sandboxPath);
  }
}

export class Session {
  readonly id: string;
  /** The pid of the session's shell. */
  readonly pid: number;
  private readonly path: string;

  /** @internal Use `sandbox.sessions.create()`. */
  constructor(
    readonly info: SessionInfo,
    private readonly http: HttpClient,
    sandboxPath: string,
  ) {
    this.id = info.id;
    this.pid = info.pid;
    this.path = `${sandboxPath}/sessions/${encodeURIComponent(info.id)}`;
  }

  /**
   * Runs a command in the session's shell and resolves with its result (a non-zero exit resolves;
   * a timeout throws `TimeoutError`). With callbacks, output streams to them as it comes.
   */
  async run(command: string, options: SessionRunOptions = {}): Promise<CommandResult> {
    if (!options.onStdout && !options.onStderr) {
      const result = await this.http.json<WireCommandResult>({ method: 'POST', path: `${this.path}/exec`, json: sessionBody(command, options) }, options);
      return { ...result, signal: null };
    }
    const collector = new OutputCollector(options);
    for await (const frame of this.stream(command, options)) {
      if (frame.type === 'output') collector.push(frame.stream, frame.data);
      else return collector.finish(this.pid, { exitCode: frame.exitCode, signal: null, reason: 'exited' }, options.timeoutMs);
    }
    throw new ProtocolError('The session stream ended without an exit frame.');
  }

  /** Runs a command and yields its output chunks (bytes) as they come, then the `exit` frame. */
  async *stream(command: string, options: SessionRunOptions = {}): AsyncGenerator<SessionCommandFrame, void, undefined> {
    const frames = this.http.ndjson<SessionFrame>({ method: 'POST', path: `${this.path}/exec`, query: { stream: true }, json: sessionBody(command, options) }, options);
    let exited = false;
    for await (const frame of decodeSessionFrames(frames)) {
      if (frame.type === 'exit') exited = true;
      yield frame;
    }
    if (!exited) throw new ProtocolError('The session stream ended without an exit frame.');
  }

  /** The session as the server sees it now. */
  async getInfo(options: CallOptions = {}): Promise<SessionInfo> {
    return this.http.json<SessionInfo>({ method: 'GET', path: this.path }, options);
  }

  /** Kills the shell and its jobs. */
  async destroy(options: CallOptions = {}): Promise<void> {
    await this.http.json({ method: 'DELETE', path: this.path }, options);
  }
}

function sessionBody(command: string, options: SessionRunOptions): { command: string; timeoutMs?: number } {
  return options.timeoutMs === undefined ? { command } : { command, timeoutMs: options.timeoutMs };
}
