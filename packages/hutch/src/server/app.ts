/**
 * Builds the Hutch HTTP server (without listening): the native `/v1` API of docs/api.md, its
 * OpenAPI document, `/metrics` and the web console, over one engine.
 *
 * Why Fastify: routes declare TypeBox schemas once, and the same schemas validate every request,
 * serialize every response as an allow-list (fields not in the schema never leave the server, so
 * secrets cannot leak by accident), and generate the OpenAPI document (@fastify/swagger). `inject()`
 * tests the whole stack without a socket, and its built-in pino logger gives structured logs with
 * redaction.
 *
 *   const app = buildServer({ engine, apiKeys: [key] });
 *   await app.listen({ host: '127.0.0.1', port: 7410 });
 */
import swagger from '@fastify/swagger';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Engine } from '../engine/engine.js';
import { AccessTokens, authenticate, sha256Hex, type AuthConfig } from './auth.js';
import { consoleRoutes } from './console/console-routes.js';
import { e2bRoutes, rewriteE2bUrl } from './e2b/index.js';
import type { ServerContext } from './context.js';
import { errorToResponse, logError, RouteNotFoundError } from './errors.js';
import { serializeRequest } from './logger.js';
import { Metrics } from './metrics.js';
import { eventRoutes } from './routes/events.js';
import { networkRoutes } from './routes/network.js';
import { fileRoutes } from './routes/files.js';
import { processRoutes } from './routes/processes.js';
import { ptyRoutes } from './routes/pty.js';
import { sandboxRoutes } from './routes/sandboxes.js';
import { sessionRoutes } from './routes/sessions.js';
import { snapshotRoutes } from './routes/snapshots.js';
import { systemRoutes } from './routes/system.js';
import { templateRoutes } from './routes/templates.js';
import { codebaseRoutes } from './routes/codebases.js';
import { workspaceRoutes } from './routes/workspaces.js';
import { SHARED_SCHEMAS } from './schemas/shared.js';
import { ActiveStreams } from './streaming/active-streams.js';
import { KEEPALIVE_MS } from './streaming/reply-stream.js';
import { HUTCH_VERSION } from './version.js';

export interface BuildServerOptions {
  engine: Engine;
  /** A pino logger (see `createServerLogger`), or `false` for none (the default). */
  logger?: FastifyBaseLogger | false;
  /** API keys accepted, in plaintext (hashed at once; tests and embedding). */
  apiKeys?: string[];
  /** sha256 (hex) hashes of accepted API keys (what `serve` loads from the settings). */
  apiKeyHashes?: string[];
  /** Reported by `/v1/health` and the OpenAPI document (default: this package's version). */
  version?: string;
  /** Keepalive interval of streams (default 15 000 ms). */
  keepaliveMs?: number;
  /**
   * On close, connections still open this long after streams were ended are cut (default 5000 ms):
   * a client may hold a connection that never sends a request, which would otherwise delay
   * shutdown until the headers timeout.
   */
  shutdownGraceMs?: number;
}

/** Fastify's ajv, made strict: unknown fields are refused (400 naming them), not silently dropped. */
const AJV_OPTIONS = { removeAdditional: false as const, coerceTypes: 'array' as const, useDefaults: true, allErrors: false };

/** Builds the server. With no API key configured every authenticated route answers 401 (fail closed). */
export function buildServer(options: BuildServerOptions): FastifyInstance {
  const { engine } = options;
  const app = Fastify({
    // Whatever logger the caller gives, requests are logged through our serializer (no headers,
    // `?token=` removed from URLs).
    ...(options.logger ? { loggerInstance: options.logger.child({}, { serializers: { req: serializeRequest } }) } : { logger: false }),
    ajv: { customOptions: AJV_OPTIONS },
    exposeHeadRoutes: false,
    // E2B: requests for a sandbox's envd or ports are routed by header (server/e2b/dispatch.ts).
    rewriteUrl: rewriteE2bUrl,
  }) as unknown as FastifyInstance;
  const version = options.version ?? HUTCH_VERSION;
  const ctx: ServerContext = {
    engine,
    tokens: new AccessTokens(engine.settings),
    streams: new ActiveStreams(),
    metrics: new Metrics(engine),
    version,
    keepaliveMs: options.keepaliveMs ?? KEEPALIVE_MS,
  };
  const auth: AuthConfig = { apiKeyHashes: [...(options.apiKeyHashes ?? []), ...(options.apiKeys ?? []).map(sha256Hex)], tokens: ctx.tokens };

  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  // An empty JSON body is no body (clients often send the header on a bare POST); routes whose
  // fields are all optional (`config.optionalBody`) then treat it as `{}`.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => (body === '' ? done(null, undefined) : parseJson(request, body as string, done)));
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && request.routeOptions.config.optionalBody) request.body = {};
  });
  app.setErrorHandler((error, request, reply) => {
    const response = errorToResponse(error);
    logError(request.log, error, response);
    return reply.code(response.status).send(response.body);
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new RouteNotFoundError(request.method, request.url.split('?')[0] ?? '');
    const response = errorToResponse(error);
    logError(request.log, error, response);
    return reply.code(response.status).send(response.body);
  });
  app.addHook('onRequest', async (request) => authenticate(request, auth));
  app.addHook('onResponse', async (request, reply) => {
    // A refused WebSocket upgrade (401, 404...) answers on the raw socket, which no HTTP connection
    // tracking owns: close it, or every refused attempt would hold a socket open forever.
    if (request.headers.upgrade !== undefined && reply.statusCode !== 101) {
      const socket = request.raw.socket;
      socket.end();
      socket.once('finish', () => socket.destroy());
    }
    ctx.metrics.observeRequest(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode, reply.elapsedTime / 1000);
  });

  const metricsFollow = new AbortController();
  app.addHook('onReady', async () => {
    ctx.metrics.followProcessStarts(metricsFollow.signal).catch((err: unknown) => app.log.error({ err }, 'metrics event follow ended'));
  });
  // Shutdown: end every open stream and socket so the server can close; sandboxes keep running.
  app.addHook('preClose', async () => {
    metricsFollow.abort();
    ctx.streams.abortAll();
    if (!app.server.listening) return;
    const timer = setTimeout(() => app.server.closeAllConnections(), options.shutdownGraceMs ?? 5000);
    timer.unref();
    app.server.once('close', () => clearTimeout(timer));
  });

  app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Hutch API', version, description: 'Self-hosted sandboxes for AI agents. Errors are `{code, message, details?}`; see docs/errors.md.' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'The server API key.' },
          apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
          accessToken: { type: 'apiKey', in: 'header', name: 'X-Access-Token', description: 'A sandbox access token; opens /v1/sandboxes/{id} and below for that sandbox only.' },
        },
      },
      security: [{ bearer: [] }, { apiKeyHeader: [] }, { accessToken: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transform: ({ schema, url, route }) => {
      if (!url.startsWith('/v1/')) return { schema: { ...schema, hide: true }, url };
      const extra: Record<string, unknown> = {};
      // @fastify/websocket hides its routes; the PTY socket is part of the API, so it is documented.
      if ((route as { websocket?: boolean }).websocket) extra.hide = false;
      if (route.config?.auth === 'public') extra.security = [];
      if (route.config?.rawBody) Object.assign(extra, { consumes: ['application/octet-stream'], body: { type: 'string', format: 'binary', description: 'The file\'s bytes (streamed).' } });
      return { schema: { ...schema, ...extra }, url };
    },
  });
  app.register(websocket, { options: { maxPayload: 1024 * 1024 } });
  for (const routes of [systemRoutes, sandboxRoutes, processRoutes, ptyRoutes, sessionRoutes, fileRoutes, snapshotRoutes, templateRoutes, codebaseRoutes, workspaceRoutes, networkRoutes, eventRoutes]) app.register(routes(ctx));
  app.register(consoleRoutes);
  app.register(e2bRoutes(ctx, auth));
  return app;
}
