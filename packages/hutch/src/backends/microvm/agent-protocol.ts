/**
 * The host ↔ guest-agent wire format: JSON lines over one virtio-serial port. Pure; no I/O.
 *
 * Host → guest: a request `{"id":n,"op":"exec",...}`. Guest → host: the reply `{"id":n,"ok":true,...}`
 * or `{"id":n,"ok":false,"errno":"ENOENT","message":"..."}`, and unsolicited events:
 * `{"ev":"out","p":pid,"s":"stdout"|"stderr"|"pty","d":base64}`, `{"ev":"exit","p":pid,"code":n|null,"sig":name|null}`,
 * `{"ev":"watch","w":watchId,"type":"create"|...,"path":"/..."}`, and for port forwarding
 * `{"ev":"conn","c":connectionId,"d":base64}` / `{"ev":"conn_end","c":connectionId,"errno":name|null}`.
 * Many processes and connections share the channel; the pid (or connection id) is the multiplexing
 * key, and binary data is base64 so a frame is always one line.
 */

export type AgentReply = { id: number; ok: true; [key: string]: unknown } | { id: number; ok: false; errno: string; message: string };

export type AgentEvent =
  | { ev: 'out'; p: number; s: 'stdout' | 'stderr' | 'pty'; d: string }
  | { ev: 'exit'; p: number; code: number | null; sig: string | null }
  | { ev: 'watch'; w: number; type: string; path: string }
  | { ev: 'conn'; c: number; d: string }
  | { ev: 'conn_end'; c: number; errno: string | null };

export type AgentMessage = { kind: 'reply'; reply: AgentReply } | { kind: 'event'; event: AgentEvent };

/** One request line (with its trailing newline). */
export function encodeRequest(id: number, op: string, args: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ ...args, id, op })}\n`;
}

/** Parses one line from the guest. Throws on a frame that is not JSON or has neither `id` nor `ev`. */
export function decodeMessage(line: string): AgentMessage {
  const value = JSON.parse(line) as Record<string, unknown>;
  if (typeof value !== 'object' || value === null) throw new Error('agent frame is not an object');
  if (typeof value.ev === 'string') return { kind: 'event', event: value as unknown as AgentEvent };
  if (typeof value.id === 'number' && typeof value.ok === 'boolean') return { kind: 'reply', reply: value as unknown as AgentReply };
  throw new Error('agent frame has neither id nor ev');
}

/** Splits a byte stream into lines; keeps a partial last line until its newline arrives. */
export class LineSplitter {
  private partial = '';

  /** Returns the complete, non-empty lines in `chunk` (plus what was held over). */
  push(chunk: string): string[] {
    const text = this.partial + chunk;
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    return lines.filter((l) => l.trim().length > 0);
  }

  /** Drops a held partial line (the peer reconnected). */
  reset(): void {
    this.partial = '';
  }
}

/** Largest payload (before base64) per read/write frame: keeps lines well under a few MiB. */
export const FILE_CHUNK_BYTES = 512 * 1024;

/** Splits `data` into frames of at most `size` bytes (an empty input gives one empty frame). */
export function chunkBytes(data: Uint8Array, size = FILE_CHUNK_BYTES): Uint8Array[] {
  if (data.length === 0) return [data];
  const out: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}
