/**
 * Secret injection at the edge: the egress proxy serves a sandbox's HTTP/1 connection to a host
 * with injections itself (plain, or TLS terminated with a leaf of the sandbox CA), adds the
 * configured headers to every request whose Host is that host, and re-originates each request to
 * the original address (HTTPS verified against the configured upstream CA bundle). Secret values
 * exist only here and upstream, never in the sandbox, logs or errors.
 */
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { renderInjection } from '../../domain/network-rules.js';
import type { SecretInjection } from '../../domain/sandbox.js';
import { issueLeaf, type SandboxCa } from './ca.js';

export interface Upstream {
  ip: string;
  port: number;
  /** The attributed host name (SNI or Host). */
  host: string;
  tls: boolean;
  /** PEM bundle upstream certificates must chain to (default: Node's bundled roots). */
  ca?: string;
}

export interface InterceptRequest {
  client: Socket;
  /** Bytes already read from the client (replayed first). */
  first: Buffer;
  upstream: Upstream;
  injections: SecretInjection[];
  secrets: ReadonlyMap<string, string>;
  /** Counts bytes the sandbox sent. */
  count: (bytes: number) => void;
  /** Present for TLS: the CA that signs the leaf for `upstream.host`. */
  ca?: SandboxCa;
}

/** A duplex over `socket` that yields `head` first (so TLS and HTTP parsers see every byte). */
export function replayStream(socket: Socket, head: Buffer, count: (n: number) => void): Duplex {
  const d = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end();
      cb();
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  if (head.length > 0) d.push(head);
  socket.on('data', (c: Buffer) => {
    count(c.length);
    if (!d.push(c)) socket.pause();
  });
  socket.on('end', () => d.push(null));
  socket.on('close', () => d.destroy());
  return d;
}

const leafCache = new WeakMap<SandboxCa, Map<string, Promise<{ key: string; cert: string }>>>();

function leafFor(ca: SandboxCa, host: string): Promise<{ key: string; cert: string }> {
  let byHost = leafCache.get(ca);
  if (!byHost) leafCache.set(ca, (byHost = new Map()));
  let leaf = byHost.get(host);
  if (!leaf) {
    leaf = issueLeaf(ca, host);
    byHost.set(host, leaf);
    leaf.catch(() => byHost!.delete(host));
  }
  return leaf;
}

function hostOf(header: string | undefined): string {
  const h = (header ?? '').trim().toLowerCase();
  const i = h.lastIndexOf(':');
  return i > 0 && !h.endsWith(']') ? h.slice(0, i) : h;
}

function forward(req: IncomingMessage, res: ServerResponse, r: InterceptRequest): void {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = v;
  if (hostOf(req.headers.host) === r.upstream.host) {
    for (const inj of r.injections) {
      delete headers[inj.header.toLowerCase()];
      headers[inj.header] = renderInjection(inj.value, r.secrets);
    }
  }
  const options = { host: r.upstream.ip, port: r.upstream.port, method: req.method, path: req.url, headers, setHost: false, agent: false as const };
  const up = r.upstream.tls
    ? httpsRequest({ ...options, servername: r.upstream.host, ...(r.upstream.ca ? { ca: r.upstream.ca } : {}) })
    : httpRequest(options);
  up.on('response', (ur) => {
    res.writeHead(ur.statusCode ?? 502, ur.statusMessage, ur.headers);
    ur.pipe(res);
  });
  // Upstream failures are reported without detail: messages could echo request headers.
  up.on('error', () => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('hutch egress: upstream failed\n');
    else res.destroy();
  });
  req.pipe(up);
}

/** Serves the client's HTTP/1 connection as described in the module comment. */
export function interceptHttp(r: InterceptRequest): void {
  const server = createHttpServer((req, res) => forward(req, res, r));
  server.on('clientError', (_err, socket) => socket.destroy());
  const stream = replayStream(r.client, r.first, r.count);
  if (!r.ca) {
    server.emit('connection', stream);
    return;
  }
  void leafFor(r.ca, r.upstream.host).then(
    ({ key, cert }) => {
      const tls = new TLSSocket(stream, { isServer: true, key, cert, ALPNProtocols: ['http/1.1'] });
      tls.on('error', () => tls.destroy());
      server.emit('connection', tls);
    },
    () => r.client.destroy(),
  );
}
