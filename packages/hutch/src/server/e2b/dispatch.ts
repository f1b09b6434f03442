/**
 * Which plane an E2B request is for, decided before Fastify routes it (pure; no I/O):
 * - `E2b-Sandbox-Id` + `E2b-Sandbox-Port: 49983` (sent by the SDK on every envd call): the envd
 *   data plane of that sandbox;
 * - any other `E2b-Sandbox-Port`, or a `Host: <port>-<sandboxId>.<domain>` (E2B's host routing):
 *   the port proxy into that sandbox;
 * - otherwise the request is left alone (native API or the E2B control plane).
 * Fastify routes by URL only, so `rewriteE2bUrl` (Fastify's `rewriteUrl` hook) moves the first two
 * under internal prefixes that only the E2B plugin serves. The original URL stays in
 * `req.originalUrl`.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** envd's port: `E2b-Sandbox-Port` with this value means the data plane itself. */
export const ENVD_PORT = 49983;
/** Internal prefix of envd requests: `/_e2b/envd/<sandboxId>/<original path>`. */
export const ENVD_PREFIX = '/_e2b/envd';
/** Internal prefix of proxied requests: `/_e2b/port/<sandboxId>/<port>/<original path>`. */
export const PORT_PREFIX = '/_e2b/port';

export interface SandboxTarget {
  sandboxId: string;
  port: number;
}

const SANDBOX_ID = /^[A-Za-z0-9-]{1,128}$/;
/** `<port>-<sandboxId>.<domain>`: the first DNS label holds port and id (E2B's proxy/host.go). */
const HOST_LABEL = /^(\d{1,5})-([A-Za-z0-9]{1,128})\./;

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function validPort(text: string): number | undefined {
  const port = Number(text);
  return /^\d{1,5}$/.test(text) && port >= 1 && port <= 65_535 ? port : undefined;
}

/** The sandbox and port a `Host` header names (`8000-sbxabc.localhost:7410`), if it does. */
export function parseSandboxHost(host: string | undefined): SandboxTarget | undefined {
  const match = host ? HOST_LABEL.exec(host) : null;
  if (!match) return undefined;
  const port = validPort(match[1]!);
  return port === undefined ? undefined : { sandboxId: match[2]!, port };
}

/** The sandbox and port a request is addressed to, by headers first, then by Host. */
export function targetOf(headers: IncomingHttpHeaders): SandboxTarget | undefined {
  const sandboxId = single(headers['e2b-sandbox-id']);
  if (sandboxId !== undefined) {
    if (!SANDBOX_ID.test(sandboxId)) return undefined;
    const portHeader = single(headers['e2b-sandbox-port']);
    const port = portHeader === undefined ? ENVD_PORT : validPort(portHeader.trim());
    return port === undefined ? undefined : { sandboxId, port };
  }
  return parseSandboxHost(single(headers.host));
}

/** The URL Fastify should route (see the module comment). Never throws. */
export function rewriteE2bUrl(req: { url?: string | undefined; headers: IncomingHttpHeaders }): string {
  const url = req.url ?? '/';
  const target = targetOf(req.headers);
  if (!target) return url;
  const path = url.startsWith('/') ? url : `/${url}`;
  if (target.port === ENVD_PORT) return `${ENVD_PREFIX}/${target.sandboxId}${path}`;
  return `${PORT_PREFIX}/${target.sandboxId}/${target.port}${path}`;
}

/** The URL the client sent, with the internal prefix removed (for proxying and `/files`). */
export function originalUrl(req: { url?: string | undefined; originalUrl?: string | undefined }): string {
  return req.originalUrl ?? req.url ?? '/';
}
