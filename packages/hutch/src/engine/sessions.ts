/**
 * Persistent shell sessions: one long-lived `bash` per session inside the sandbox, fed commands on
 * stdin, so cwd, env and background jobs persist across commands. Each command's output ends at a
 * random per-command marker carrying its exit status. One command at a time per session;
 * destroying a session kills its process group.
 */
import { randomBytes } from 'node:crypto';
import { BadRequestError, InvalidTransitionError, ProcessTimeoutError, SessionNotFoundError } from '../domain/errors.js';
import type { CommandResult } from '../domain/process.js';
import type { ProcessHandle } from '../port/isolation-backend.js';
import type { EngineContext } from './context.js';
import { KeyedMutex } from './keyed-mutex.js';
import type { Processes } from './processes.js';

export interface SessionInfo {
  id: string;
  sandboxId: string;
  pid: number;
  createdAt: string;
  alive: boolean;
}

interface Session {
  info: SessionInfo;
  handle: ProcessHandle;
  /** Output sequence number up to which earlier commands consumed. */
  nextSeq: number;
}

/** A chunk of a session command's output, or its end. */
export type SessionFrame = { type: 'output'; stream: 'stdout' | 'stderr'; data: Uint8Array } | { type: 'exit'; exitCode: number };

export class Sessions {
  private readonly sessions = new Map<string, Map<string, Session>>();
  private readonly locks = new KeyedMutex();

  constructor(
    private readonly ctx: EngineContext,
    private readonly processes: Processes,
  ) {}

  async create(sandboxId: string, options: { cwd?: string; env?: Record<string, string> } = {}): Promise<SessionInfo> {
    const handle = await this.processes.start(sandboxId, {
      cmd: '/bin/bash',
      args: ['--noprofile', '--norc'],
      keepStdinOpen: true,
      ...(options.cwd ? { cwd: options.cwd } : {}),
      ...(options.env ? { env: options.env } : {}),
      tag: 'hutch-session',
    });
    const id = `ses${randomBytes(6).toString('hex')}`;
    const info: SessionInfo = { id, sandboxId, pid: handle.pid, createdAt: this.ctx.now(), alive: true };
    let map = this.sessions.get(sandboxId);
    if (!map) this.sessions.set(sandboxId, (map = new Map()));
    map.set(id, { info, handle, nextSeq: 1 });
    void handle.wait().then(() => (info.alive = false), () => (info.alive = false));
    this.ctx.events.emit(sandboxId, 'session.created', { sessionId: id, pid: handle.pid });
    return { ...info };
  }

  list(sandboxId: string): SessionInfo[] {
    this.ctx.row(sandboxId);
    return [...(this.sessions.get(sandboxId)?.values() ?? [])].map((s) => ({ ...s.info }));
  }

  get(sandboxId: string, sessionId: string): SessionInfo {
    return { ...this.session(sandboxId, sessionId).info };
  }

  /** Runs `command` in the session and collects its output. Exit codes are results. */
  async exec(sandboxId: string, sessionId: string, command: string, options: { timeoutMs?: number } = {}): Promise<CommandResult> {
    const started = Date.now();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let exitCode = -1;
    for await (const frame of this.stream(sandboxId, sessionId, command, options)) {
      if (frame.type === 'exit') exitCode = frame.exitCode;
      else (frame.stream === 'stderr' ? err : out).push(Buffer.from(frame.data));
    }
    const session = this.session(sandboxId, sessionId);
    return { pid: session.info.pid, exitCode, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), reason: 'exited', durationMs: Date.now() - started };
  }

  /**
   * Streams the output of `command` as it runs, ending with an `exit` frame. On timeout the
   * session is destroyed (its shell and jobs killed) and `ProcessTimeoutError` is thrown.
   */
  async *stream(sandboxId: string, sessionId: string, command: string, options: { timeoutMs?: number } = {}): AsyncGenerator<SessionFrame> {
    if (typeof command !== 'string' || command.trim() === '') throw new BadRequestError('command must be a non-empty string.', { field: 'command' });
    const session = this.session(sandboxId, sessionId);
    if (!session.info.alive) throw new InvalidTransitionError('exited', 'running', 'run a command in a session whose shell has exited');
    let release!: () => void;
    const turn = new Promise<void>((resolve) => (release = resolve));
    const acquired = new Promise<void>((resolve) => void this.locks.run(session.info.id, () => (resolve(), turn)));
    await acquired;
    const controller = new AbortController();
    const timer = options.timeoutMs ? setTimeout(() => controller.abort(), options.timeoutMs) : undefined;
    try {
      const marker = `__HUTCH_${randomBytes(8).toString('hex')}__`;
      await session.handle.writeStdin(Buffer.from(`{ ${command}\n} < /dev/null; printf '%s%d\\n' '${marker}' "$?"; printf '%s\\n' '${marker}' >&2\n`));
      const parsers = { stdout: new MarkerParser(marker), stderr: new MarkerParser(marker) };
      let exitCode: number | undefined;
      let stderrDone = false;
      let statusText = '';
      for await (const chunk of session.handle.output(session.nextSeq, { signal: controller.signal })) {
        session.nextSeq = chunk.seq + 1;
        const stream = chunk.stream === 'stderr' ? 'stderr' : 'stdout';
        const parsed = parsers[stream].push(Buffer.from(chunk.data));
        if (parsed.data.length) yield { type: 'output', stream, data: parsed.data };
        if (parsed.done && stream === 'stdout' && exitCode === undefined) {
          statusText += parsed.rest.toString();
          if (statusText.includes('\n')) exitCode = Number(statusText.split('\n')[0]);
        }
        if (parsed.done && stream === 'stderr') stderrDone = true;
        if (exitCode !== undefined && stderrDone) break;
      }
      if (exitCode === undefined) throw new InvalidTransitionError('exited', 'running', 'finish a command: the session shell exited');
      yield { type: 'exit', exitCode };
    } catch (error) {
      if (controller.signal.aborted) {
        await this.destroy(sandboxId, sessionId);
        throw new ProcessTimeoutError(options.timeoutMs ?? 0, { sessionId });
      }
      throw error;
    } finally {
      clearTimeout(timer);
      release();
    }
  }

  /** Kills the session's shell and its process group. */
  async destroy(sandboxId: string, sessionId: string): Promise<void> {
    const session = this.session(sandboxId, sessionId);
    this.sessions.get(sandboxId)?.delete(sessionId);
    if (session.info.alive) await session.handle.signal('SIGKILL').catch(() => undefined);
    this.ctx.events.emit(sandboxId, 'session.destroyed', { sessionId });
  }

  /** Drops the sessions of a sandbox that no longer exists. */
  forget(sandboxId: string): void {
    this.sessions.delete(sandboxId);
  }

  async closeAll(): Promise<void> {
    this.sessions.clear();
  }

  private session(sandboxId: string, sessionId: string): Session {
    this.ctx.row(sandboxId);
    const session = this.sessions.get(sandboxId)?.get(sessionId);
    if (!session) throw new SessionNotFoundError(sandboxId, sessionId);
    return session;
  }
}

/** Splits a stream at the first occurrence of a marker, holding back a possible partial marker. */
export class MarkerParser {
  private pending = Buffer.alloc(0);
  private done = false;

  constructor(private readonly marker: string) {}

  push(data: Buffer): { data: Buffer; done: boolean; rest: Buffer } {
    if (this.done) return { data: Buffer.alloc(0), done: true, rest: data };
    const buf = Buffer.concat([this.pending, data]);
    const at = buf.indexOf(this.marker);
    if (at >= 0) {
      this.done = true;
      this.pending = Buffer.alloc(0);
      return { data: buf.subarray(0, at), done: true, rest: buf.subarray(at + this.marker.length) };
    }
    const keep = Math.min(buf.length, this.marker.length - 1);
    this.pending = buf.subarray(buf.length - keep);
    return { data: buf.subarray(0, buf.length - keep), done: false, rest: Buffer.alloc(0) };
  }
}
