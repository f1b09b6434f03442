/**
 * `sandbox.commands`: run commands in a sandbox to completion, in the background (a
 * `CommandHandle`), or as an async iterator of output frames; list processes and reattach to them.
 * A string command runs through the sandbox's shell; an array is an argv run without a shell.
 */
import type { ExecBody, ProcessFrame, ProcessInfo } from '@hutch/protocol';
import { CommandHandle, type SignalName } from './command-handle.js';
import type { CallOptions } from './connection-config.js';
import { ProtocolError } from './errors.js';
import { decodeProcessFrames, type CommandFrame } from './frames.js';
import type { HttpClient } from './http-client.js';
import { OutputCollector, type CommandResult, type OutputCallbacks } from './output-collector.js';

/** Options of `commands.run` and `commands.stream`. */
export interface CommandOptions extends CallOptions, OutputCallbacks {
  /** Working directory inside the sandbox (default: the template's workdir). */
  cwd?: string;
  /** Extra environment variables, over the sandbox's. */
  env?: Record<string, string>;
  /** User to run as (default: the template's user). */
  user?: string;
  /** Kill the command after this many milliseconds; `run` then throws `TimeoutError`. Default: none. */
  timeoutMs?: number;
  /** UTF-8 text written to stdin at start (stdin is then closed unless `keepStdinOpen`). */
  stdin?: string;
  /** Keep stdin open for `handle.sendStdin` (background commands). */
  keepStdinOpen?: boolean;
  /** Run under a PTY of this size (output arrives as stream `pty`). */
  pty?: { cols: number; rows: number };
  /** A label shown by `commands.list`. */
  tag?: string;
}

/** Options of a background `commands.run`. */
export interface BackgroundCommandOptions extends CommandOptions {
  background: true;
}

/** Options of `commands.connect`. */
export interface ConnectOptions extends CallOptions, OutputCallbacks {
  /** Replay output from this sequence number (default 1: all output the server kept). */
  fromSeq?: number;
}

/** A command: a shell line (`'ls -l | wc -l'`) or an argv (`['ls', '-l']`). */
export type Command = string | readonly string[];

export class Commands {
  /** @internal Use `sandbox.commands`. */
  constructor(
    private readonly http: HttpClient,
    private readonly sandboxPath: string,
  ) {}

  /**
   * Runs a command. Without `background` it resolves with the `CommandResult` once the command
   * ends (a non-zero exit resolves; a timeout throws `TimeoutError`), streaming output to the
   * callbacks meanwhile. With `background: true` it resolves with a `CommandHandle` as soon as the
   * process has started. The sandbox must be running.
   */
  run(command: Command, options: BackgroundCommandOptions): Promise<CommandHandle>;
  run(command: Command, options?: CommandOptions & { background?: false }): Promise<CommandResult>;
  async run(command: Command, options: CommandOptions & { background?: boolean } = {}): Promise<CommandResult | CommandHandle> {
    if (options.background) {
      const info = await this.http.json<ProcessInfo>({ method: 'POST', path: `${this.sandboxPath}/processes`, json: execBody(command, options) }, options);
      return this.handle(info.pid, options);
    }
    const collector = new OutputCollector(options);
    let pid: number | undefined;
    for await (const frame of this.stream(command, options)) {
      if (frame.type === 'start') pid = frame.pid;
      else if (frame.type === 'output') collector.push(frame.stream, frame.data);
      else return collector.finish(pid ?? -1, frame, options.timeoutMs);
    }
    throw new ProtocolError('The command stream ended without an exit frame.');
  }

  /**
   * Runs a command and yields its frames as they come: `start`, `output` chunks (bytes), then
   * `exit` (a timeout shows as `reason: 'timeout'`). Breaking out of the loop closes the stream.
   */
  async *stream(command: Command, options: CommandOptions = {}): AsyncGenerator<CommandFrame, void, undefined> {
    const frames = this.http.ndjson<ProcessFrame>({ method: 'POST', path: `${this.sandboxPath}/exec`, json: execBody(command, options) }, options);
    let exited = false;
    for await (const frame of decodeProcessFrames(frames)) {
      if (frame.type === 'exit') exited = true;
      yield frame;
    }
    if (!exited) throw new ProtocolError('The command stream ended without an exit frame.');
  }

  /** Processes of the sandbox: running ones, and ended ones the server still remembers. */
  async list(options: CallOptions = {}): Promise<ProcessInfo[]> {
    return this.http.json<ProcessInfo[]>({ method: 'GET', path: `${this.sandboxPath}/processes` }, options);
  }

  /** One process. Throws `NotFoundError` (`process_not_found`) for an unknown pid. */
  async get(pid: number, options: CallOptions = {}): Promise<ProcessInfo> {
    return this.http.json<ProcessInfo>({ method: 'GET', path: this.processPath(pid) }, options);
  }

  /** Reattaches to a process (replaying its output from `fromSeq`). Throws `NotFoundError` for an unknown pid. */
  async connect(pid: number, options: ConnectOptions = {}): Promise<CommandHandle> {
    await this.get(pid, options);
    return this.handle(pid, options);
  }

  /** Sends a signal to a process (default `SIGKILL`). */
  async kill(pid: number, signal: SignalName = 'SIGKILL', options: CallOptions = {}): Promise<void> {
    await this.http.json({ method: 'POST', path: `${this.processPath(pid)}/signal`, json: { signal } }, options);
  }

  /**
   * Where the PTY WebSocket of a process is (`ws://…/processes/{pid}/pty`), with the headers that
   * authenticate it. Binary messages in are stdin, binary messages out are output, and a text
   * message `{"type":"resize","cols","rows"}` resizes. Node's `ws` package can send the headers;
   * browsers cannot, so there pass `token` in the query instead.
   */
  ptyEndpoint(pid: number, options: { fromSeq?: number } = {}): { url: string; headers: Record<string, string> } {
    const url = this.http.url(`${this.processPath(pid)}/pty`, { from: options.fromSeq });
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return { url: url.toString(), headers: this.http.authHeaders() };
  }

  private handle(pid: number, options: OutputCallbacks & { fromSeq?: number; timeoutMs?: number }): CommandHandle {
    const handleOptions = {
      ...(options.onStdout ? { onStdout: options.onStdout } : {}),
      ...(options.onStderr ? { onStderr: options.onStderr } : {}),
      ...(options.fromSeq !== undefined ? { fromSeq: options.fromSeq } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    };
    return new CommandHandle(pid, this.http, this.processPath(pid), handleOptions);
  }

  private processPath(pid: number): string {
    if (!Number.isInteger(pid) || pid <= 0) throw new RangeError(`pid must be a positive integer, got ${String(pid)}.`);
    return `${this.sandboxPath}/processes/${pid}`;
  }
}

/** The wire body for a command and its options. */
export function execBody(command: Command, options: CommandOptions): ExecBody {
  const body: ExecBody = typeof command === 'string' ? { shell: command } : argvBody(command);
  if (options.cwd !== undefined) body.cwd = options.cwd;
  if (options.env !== undefined) body.env = options.env;
  if (options.user !== undefined) body.user = options.user;
  if (options.timeoutMs !== undefined) body.timeoutMs = options.timeoutMs;
  if (options.stdin !== undefined) body.stdin = options.stdin;
  if (options.keepStdinOpen !== undefined) body.keepStdinOpen = options.keepStdinOpen;
  if (options.pty !== undefined) body.pty = options.pty;
  if (options.tag !== undefined) body.tag = options.tag;
  return body;
}

function argvBody(argv: readonly string[]): ExecBody {
  const [cmd, ...args] = argv;
  if (cmd === undefined || cmd === '') throw new TypeError('An argv command needs at least the program name.');
  return { cmd, args };
}
