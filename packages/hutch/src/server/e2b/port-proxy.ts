/**
 * The port proxy: a request with `E2b-Sandbox-Port` other than envd's (or `Host:
 * <port>-<id>.<domain>`) arrives under `/_e2b/port/<id>/<port>/…` (dispatch.ts) and is forwarded,
 * with its original path, method, headers and body, to that port on the sandbox's loopback over a
 * connection from the engine (`engine.ports.connect`, backed by the port's `connectPort`). One
 * upstream connection per request. WebSocket upgrades are bridged message by message: the server
 * side of the socket is accepted here (@fastify/websocket) and a client socket is opened to the
 * service. Answers E2B's 502 bodies when the sandbox is not running or nothing listens on the port.
 */
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WebSocket, type RawData } from 'ws';
import { InvalidTransitionError, PortNotOpenError, SandboxNotFoundError } from '../../domain/errors.js';
import type { E2bContext } from './context.js';
import { originalUrl, PORT_PREFIX } from './dispatch.js';
import { portNotOpenBody, sandboxNotFoundBody } from './errors.js';

type Params = { sandboxId: string; port: string; '*': string };

/** Hop-by-hop headers (RFC 9110 §7.6.1) and E2B's routing headers: never forwarded. */
const DROPPED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'e2b-sandbox-id', 'e2b-sandbox-port']);

/** Request or response headers without hop-by-hop ones (pure). */
export function forwardedHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const named = new Set((typeof headers.connection === 'string' ? headers.connection : '').split(',').map((h) => h.trim().toLowerCase()));
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !DROPPED.has(name) && !named.has(name)) out[name] = value;
  return out;
}

export function portProxyRoutes(ctx: E2bContext) {
  const { engine } = ctx.server;

  /** A connection to the service, or undefined after answering the matching 502. */
  const connect = async (sandboxId: string, port: number, fail: (status: number, body: object) => void): Promise<Duplex | undefined> => {
    try {
      return await engine.ports.connect(sandboxId, port);
    } catch (err) {
      if (err instanceof PortNotOpenError) fail(502, portNotOpenBody(sandboxId, port));
      else if (err instanceof SandboxNotFoundError || err instanceof InvalidTransitionError) fail(502, sandboxNotFoundBody(sandboxId));
      else throw err;
      return undefined;
    }
  };

  const proxyHttp = async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
    const { sandboxId } = request.params;
    const port = Number(request.params.port);
    const upstream = await connect(sandboxId, port, (status, body) => void reply.code(status).send(body));
    if (!upstream) return reply;
    reply.hijack();
    const res = reply.raw;
    const release = ctx.sockets.add(sandboxId, request.raw.socket);
    res.once('close', () => {
      release();
      upstream.destroy();
    });
    const forward = httpRequest({ method: request.method, path: originalUrl(request.raw), headers: forwardedHeaders(request.headers), createConnection: () => upstream as never });
    forward.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, forwardedHeaders(answer.headers));
      answer.pipe(res);
    });
    forward.on('error', (err) => {
      request.log.info({ err: err.message, sandboxId, port }, 'proxied request failed');
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify(portNotOpenBody(sandboxId, port)));
      else res.destroy();
    });
    request.raw.pipe(forward);
  };

  const proxyWebSocket = async (client: WebSocket, request: FastifyRequest<{ Params: Params }>) => {
    const { sandboxId } = request.params;
    const port = Number(request.params.port);
    const upstream = await connect(sandboxId, port, (_status, body) => client.close(1011, JSON.stringify(body).slice(0, 120)));
    if (!upstream) return;
    const headers = forwardedHeaders(request.headers);
    for (const name of Object.keys(headers)) if (name.startsWith('sec-websocket-')) delete headers[name];
    const protocols = typeof request.headers['sec-websocket-protocol'] === 'string' ? request.headers['sec-websocket-protocol'].split(',').map((p) => p.trim()) : [];
    const service = new WebSocket(`ws://localhost:${port}${originalUrl(request.raw)}`, protocols, { headers: headers as Record<string, string>, createConnection: () => upstream as never });
    const pending: Array<[RawData, boolean]> = [];
    client.on('message', (data, isBinary) => (service.readyState === WebSocket.OPEN ? service.send(data, { binary: isBinary }) : pending.push([data, isBinary])));
    service.on('open', () => {
      for (const [data, isBinary] of pending.splice(0)) service.send(data, { binary: isBinary });
    });
    service.on('message', (data, isBinary) => client.send(data, { binary: isBinary }));
    const closeCode = (code: number) => (code === 1005 || code === 1006 || code === 1015 ? 1000 : code);
    client.on('close', (code, reason) => (service.readyState === WebSocket.CONNECTING ? service.terminate() : service.close(closeCode(code), reason)));
    service.on('close', (code, reason) => client.close(closeCode(code), reason));
    service.on('error', () => client.terminate());
    client.on('error', () => service.terminate());
  };

  return async function routes(app: FastifyInstance): Promise<void> {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, _payload, done) => done(null));
    const url = `${PORT_PREFIX}/:sandboxId/:port/*`;
    const config = { auth: 'public' as const };
    app.route<{ Params: Params }>({ method: ['DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'], url, config, handler: proxyHttp });
    app.route<{ Params: Params }>({ method: 'GET', url, config, handler: proxyHttp, wsHandler: proxyWebSocket });
  };
}
