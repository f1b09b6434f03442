/**
 * Sends an AsyncIterable of frames as an HTTP stream (NDJSON or SSE by `Accept`). The producer gets
 * an AbortSignal that fires when the client disconnects or the server shuts down, so upstream work
 * (process output, event follows, watches) stops with the client. An error thrown mid-stream
 * becomes a final `{type: "error", code, message}` frame (internal errors are logged, not echoed).
 */
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorToResponse, logError } from '../errors.js';
import type { ActiveStreams } from './active-streams.js';
import { CONTENT_TYPES, encodeFrame, pickFormat } from './format.js';
import { withKeepalive } from './keepalive.js';

/** Keepalive interval of every stream (15 s). */
export const KEEPALIVE_MS = 15_000;

export interface SendStreamOptions {
  streams: ActiveStreams;
  keepaliveMs?: number;
}

export type StreamFrame = { type: string } & object;

/** Replies with the frames `produce` yields; returns the reply for Fastify. */
export function sendFrames(request: FastifyRequest, reply: FastifyReply, produce: (signal: AbortSignal) => AsyncIterable<StreamFrame>, options: SendStreamOptions): FastifyReply {
  const format = pickFormat(request.headers.accept);
  const controller = options.streams.acquire();
  const end = () => {
    controller.abort(new Error('client disconnected'));
    options.streams.release(controller);
    // A client that went away mid-stream may leave its half of the connection open; the response
    // can never complete, so the socket is released here rather than held until shutdown.
    if (!reply.raw.writableFinished) reply.raw.destroy();
  };
  reply.raw.once('close', end);
  const signal = controller.signal;
  async function* encoded(): AsyncGenerator<string> {
    try {
      const frames = withKeepalive<StreamFrame>(produce(signal), { intervalMs: options.keepaliveMs ?? KEEPALIVE_MS, keepalive: () => ({ type: 'keepalive' }), signal });
      for await (const frame of frames) yield encodeFrame(format, frame);
    } catch (error) {
      if (signal.aborted) return;
      const response = errorToResponse(error);
      logError(request.log, error, response);
      yield encodeFrame(format, { type: 'error', code: response.body.code, message: response.body.message });
    } finally {
      options.streams.release(controller);
    }
  }
  // Send the headers at once: a stream may stay quiet for a while, and clients wait for headers.
  reply.raw.once('pipe', () => reply.raw.flushHeaders());
  reply.header('content-type', CONTENT_TYPES[format]);
  reply.header('cache-control', 'no-cache');
  reply.header('x-accel-buffering', 'no');
  return reply.send(Readable.from(encoded(), { objectMode: false }));
}
