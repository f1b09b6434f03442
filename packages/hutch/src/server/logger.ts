/**
 * The server's pino logger: structured JSON, with credentials redacted wherever they could appear
 * (`authorization`, `x-api-key`, `x-access-token` headers, the `?token=` of WebSocket URLs). Request
 * bodies, headers and env values are never logged: the request serializer keeps method, route,
 * path (token removed), host and client address only.
 */
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export interface ServerLoggerOptions {
  /** Default `info`. */
  level?: LoggerOptions['level'];
  /** Where log lines go (default: stderr, so stdout stays for the one-time API key). */
  destination?: DestinationStream;
}

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["x-access-token"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["x-access-token"]',
];

/** `?token=...` (and any `token` query parameter) replaced by `[Redacted]`. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/gi, '$1[Redacted]');
}

interface RequestLike {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  routeOptions?: { url?: string };
  socket?: { remotePort?: number };
}

export function serializeRequest(req: RequestLike): Record<string, unknown> {
  return { method: req.method, url: redactUrl(req.url ?? ''), route: req.routeOptions?.url, host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort };
}

export function createServerLogger(options: ServerLoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      redact: { paths: REDACTED_PATHS, censor: '[Redacted]' },
      serializers: { req: serializeRequest, err: pino.stdSerializers.err },
    },
    options.destination ?? pino.destination(2),
  );
}
