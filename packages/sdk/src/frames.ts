/**
 * Decoded stream frames as the SDK hands them out: output bytes as `Uint8Array` (the wire carries
 * base64), `keepalive` dropped, `error` frames thrown as typed errors.
 */
import type { ProcessExit, ProcessFrame, SessionFrame } from '@hutch/protocol';
import { errorFromFrame, ProtocolError } from './errors.js';

/** A chunk of a process's output. `seq` orders chunks and is what `connect(pid, {fromSeq})` resumes from. */
export interface OutputFrame {
  type: 'output';
  stream: 'stdout' | 'stderr' | 'pty';
  seq: number;
  data: Uint8Array;
}

/** The last frame of a process stream. */
export interface ExitFrame extends ProcessExit {
  type: 'exit';
}

/** Frames of a command stream: `start` (with the pid), then `output` chunks, then one `exit`. */
export type CommandFrame = { type: 'start'; pid: number } | OutputFrame | ExitFrame;

/** Frames of a session command stream: `output` chunks, then one `exit`. */
export type SessionCommandFrame = { type: 'output'; stream: 'stdout' | 'stderr'; data: Uint8Array } | { type: 'exit'; exitCode: number };

/** Frames any stream may carry besides its payload: a keepalive, or the error that ends it. */
export type StreamControlFrame = { type: 'keepalive' } | { type: 'error'; code: string; message: string };

/** Decodes process frames; throws on `error` frames and drops keepalives. Ends after `exit`. */
export async function* decodeProcessFrames(frames: AsyncIterable<ProcessFrame>): AsyncGenerator<CommandFrame, void, undefined> {
  for await (const frame of frames) {
    switch (frame.type) {
      case 'start':
        yield { type: 'start', pid: frame.pid };
        break;
      case 'output':
        yield { type: 'output', stream: frame.stream, seq: frame.seq, data: decodeBase64(frame.data) };
        break;
      case 'exit':
        yield { type: 'exit', exitCode: frame.exitCode, signal: frame.signal, reason: frame.reason };
        return;
      case 'error':
        throw errorFromFrame(frame);
      case 'keepalive':
        break;
      default:
        throw new ProtocolError(`Unknown process frame type "${(frame as { type?: unknown }).type as string}".`);
    }
  }
}

/** Decodes session frames; throws on `error` frames and drops keepalives. Ends after `exit`. */
export async function* decodeSessionFrames(frames: AsyncIterable<SessionFrame>): AsyncGenerator<SessionCommandFrame, void, undefined> {
  for await (const frame of frames) {
    switch (frame.type) {
      case 'output':
        yield { type: 'output', stream: frame.stream, data: decodeBase64(frame.data) };
        break;
      case 'exit':
        yield { type: 'exit', exitCode: frame.exitCode };
        return;
      case 'error':
        throw errorFromFrame(frame);
      case 'keepalive':
        break;
      default:
        throw new ProtocolError(`Unknown session frame type "${(frame as { type?: unknown }).type as string}".`);
    }
  }
}

/** base64 → bytes with the web-standard `atob`, so the SDK runs outside Node too. */
export function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** bytes → base64 with the web-standard `btoa`. */
export function encodeBase64(bytes: Uint8Array): string {
  let binary = '';
  const CHUNK = 0x8000;
  for (let i = 0; i < bytes.length; i += CHUNK) binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  return btoa(binary);
}
