/**
 * Wire encodings of a frame stream: NDJSON (one JSON object per line, the default) or Server-Sent
 * Events (`event: <type>`, `data: <json>`, and `id: <seq>` when the frame has one), chosen by the
 * request's `Accept` header.
 */

export type StreamFormat = 'ndjson' | 'sse';

export const CONTENT_TYPES: Record<StreamFormat, string> = {
  ndjson: 'application/x-ndjson; charset=utf-8',
  sse: 'text/event-stream; charset=utf-8',
};

/** SSE when the client asks for `text/event-stream`, NDJSON otherwise. */
export function pickFormat(accept: string | undefined): StreamFormat {
  return accept?.includes('text/event-stream') ? 'sse' : 'ndjson';
}

export function encodeNdjson(frame: object): string {
  return `${JSON.stringify(frame)}\n`;
}

/** One SSE event; the event name is the frame's `type`, the id its `seq` when present. */
export function encodeSse(frame: { type?: unknown; seq?: unknown }): string {
  const type = typeof frame.type === 'string' ? frame.type.replace(/[\r\n]/g, '') : 'message';
  const id = typeof frame.seq === 'number' ? `id: ${frame.seq}\n` : '';
  return `${id}event: ${type}\ndata: ${JSON.stringify(frame)}\n\n`;
}

export function encodeFrame(format: StreamFormat, frame: object): string {
  return format === 'sse' ? encodeSse(frame) : encodeNdjson(frame);
}
