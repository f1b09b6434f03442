/**
 * The wire format of the in-sandbox exec agent (native/hutch-agent.c, whose header is the
 * reference): frames of 1 type byte, a little-endian uint32 length and the payload. Pure encoding
 * and an incremental decoder; the connection itself is host/agent-exec.ts.
 */
import { BadRequestError } from '../domain/errors.js';
import type { ExecSpec } from '../domain/process.js';

/** What the agent runs: the same facts the launcher gets on its command line. */
export interface AgentRequest {
  uid: number;
  gid: number;
  cwd: string;
  pty?: { cols: number; rows: number };
  /** `argv` is one shell string run with `/bin/bash -lc` (`/bin/sh -c` without bash). */
  shell: boolean;
  argv: string[];
  env: Record<string, string>;
}

/** Pure: the request for an exec spec, once the tier has resolved the user, the cwd and the env. */
export function planAgentRequest(spec: Pick<ExecSpec, 'cmd' | 'args' | 'shell' | 'pty'>, user: { uid: number; gid: number }, cwd: string, env: Record<string, string>): AgentRequest {
  return {
    uid: user.uid, gid: user.gid, cwd, env, ...(spec.pty ? { pty: spec.pty } : {}),
    shell: spec.shell !== undefined,
    argv: spec.shell !== undefined ? [spec.shell] : [spec.cmd ?? 'true', ...(spec.args ?? [])],
  };
}

/** Frames the agent sends. */
export type AgentFrame =
  | { type: 'started'; pid: number }
  | { type: 'stdout' | 'stderr'; data: Buffer }
  | { type: 'exit'; exitCode: number | null; signal: number | null }
  | { type: 'failed'; message: string };

/** Frames larger than this from the agent are a protocol error (it sends at most 64 KiB of output). */
export const MAX_AGENT_FRAME = 1 << 20;
/** The agent refuses stdin frames larger than this; the client splits writes. */
export const MAX_STDIN_FRAME = 1 << 16;

function frame(type: string, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeUInt32LE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** Refuses strings the NUL-separated request cannot carry. */
function checkField(what: string, value: string): string {
  if (value.includes('\0')) throw new BadRequestError(`${what} must not contain NUL characters; remove them and retry.`);
  return value;
}

/** The request frame. Throws `BadRequestError` on a NUL inside any field. */
export function encodeRequest(req: AgentRequest): Buffer {
  const env = Object.entries(req.env).map(([k, v]) => `${checkField('Environment names', k)}=${checkField('Environment values', v)}`);
  const fields = [
    '1', String(req.uid), String(req.gid), checkField('cwd', req.cwd),
    String((req.pty ? 1 : 0) | (req.shell ? 2 : 0)), String(req.pty?.cols ?? 0), String(req.pty?.rows ?? 0),
    String(req.argv.length), ...req.argv.map((a) => checkField('Arguments', a)),
    String(env.length), ...env,
  ];
  return frame('R', Buffer.from(fields.map((f) => `${f}\0`).join(''), 'utf8'));
}

/** Stdin bytes, split into frames the agent accepts. */
export function encodeStdin(data: Uint8Array): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += MAX_STDIN_FRAME) out.push(frame('I', Buffer.from(data.subarray(at, at + MAX_STDIN_FRAME))));
  return out;
}

export function encodeCloseStdin(): Buffer {
  return frame('C', Buffer.alloc(0));
}

/** A signal to the command, and with `group` to its whole process group too. */
export function encodeSignal(signo: number, group: boolean): Buffer {
  const payload = Buffer.alloc(5);
  payload.writeInt32LE(signo, 0);
  payload[4] = group ? 1 : 0;
  return frame('K', payload);
}

export function encodeResize(cols: number, rows: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt16LE(Math.min(cols, 65535), 0);
  payload.writeUInt16LE(Math.min(rows, 65535), 2);
  return frame('W', payload);
}

/** Incremental decoder: feed it bytes as they come, get whole frames back. Throws on garbage. */
export class AgentFrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): AgentFrame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: AgentFrame[] = [];
    while (this.pending.length >= 5) {
      const length = this.pending.readUInt32LE(1);
      if (length > MAX_AGENT_FRAME) throw new Error(`agent frame of ${length} bytes`);
      if (this.pending.length < 5 + length) break;
      const type = String.fromCharCode(this.pending[0]!);
      const body = this.pending.subarray(5, 5 + length);
      this.pending = this.pending.subarray(5 + length);
      frames.push(decodeFrame(type, body));
    }
    return frames;
  }
}

function decodeFrame(type: string, body: Buffer): AgentFrame {
  switch (type) {
    case 'P':
      if (body.length !== 4) break;
      return { type: 'started', pid: body.readInt32LE(0) };
    case 'O':
      return { type: 'stdout', data: Buffer.from(body) };
    case 'E':
      return { type: 'stderr', data: Buffer.from(body) };
    case 'X': {
      if (body.length !== 8) break;
      const signaled = body.readInt32LE(0) === 1;
      const value = body.readInt32LE(4);
      return signaled ? { type: 'exit', exitCode: null, signal: value } : { type: 'exit', exitCode: value, signal: null };
    }
    case 'F':
      return { type: 'failed', message: body.toString('utf8').slice(0, 300) };
  }
  throw new Error(`unexpected agent frame ${JSON.stringify(type)} of ${body.length} bytes`);
}
