/**
 * The envd data plane of every sandbox, on the server's own port: requests carrying
 * `E2b-Sandbox-Id` (and `E2b-Sandbox-Port: 49983`) arrive here under `/_e2b/envd/<id>/…` (see
 * dispatch.ts). For a sandbox that is not running (killed, paused, unknown) every request gets
 * E2B's 502 "The sandbox was not found". `/health` is open; `/files` takes the access token or a
 * URL signature; the Connect RPCs (`/process.Process/*`, `/filesystem.Filesystem/*`) need
 * `X-Access-Token`. Signed URLs without a sandbox (`downloadUrl()`/`uploadUrl()`) arrive at `/files`
 * and are matched to a sandbox by their signature.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SandboxNotFoundError } from '../../../domain/errors.js';
import type { SandboxInfo } from '../../../domain/sandbox.js';
import type { E2bContext } from '../context.js';
import type { FileOperation } from '../credentials.js';
import { ENVD_PREFIX } from '../dispatch.js';
import { e2bError, sandboxNotFoundBody } from '../errors.js';
import { downloadFile, filesAccessProblem, sandboxForSignature, uploadFiles, type FilesQuery } from './files-rest.js';
import { envdHandlers, serveRpc } from './rpc-router.js';
import { basicAuthUser } from './users.js';

type Params = { sandboxId: string; '*': string };

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** The client's `Keepalive-Ping-Interval` (s) in ms, capped by the server's interval. */
function keepaliveMsOf(request: FastifyRequest, serverMs: number): number {
  const seconds = Number(header(request, 'keepalive-ping-interval'));
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds * 1000, serverMs) : serverMs;
}

export function envdRoutes(ctx: E2bContext) {
  const { engine } = ctx.server;
  return async function routes(app: FastifyInstance): Promise<void> {
    // Bodies are read by the handlers themselves (Connect, multipart, raw uploads), never parsed here.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, _payload, done) => done(null));
    const shutdown = new AbortController();
    app.addHook('preClose', async () => shutdown.abort());
    const handlers = envdHandlers(ctx, shutdown.signal);
    const config = { auth: 'public' as const };

    /** The running sandbox, or undefined after answering E2B's 502 (unknown, killed or paused). */
    const running = (sandboxId: string, reply: FastifyReply): SandboxInfo | undefined => {
      let info: SandboxInfo | undefined;
      try {
        info = engine.lifecycle.get(sandboxId);
      } catch (err) {
        if (!(err instanceof SandboxNotFoundError)) throw err;
      }
      if (info?.state === 'running') return info;
      void reply.code(502).send(sandboxNotFoundBody(sandboxId));
      return undefined;
    };

    const files = async (info: SandboxInfo, operation: FileOperation, request: FastifyRequest<{ Querystring: FilesQuery }>, reply: FastifyReply) => {
      const problem = filesAccessProblem(ctx, info.id, operation, request.query, header(request, 'x-access-token'), Date.now());
      if (problem) return reply.code(problem.status).send(problem.body);
      const release = ctx.sockets.add(info.id, request.raw.socket);
      reply.raw.once('close', release);
      if (operation === 'read') return downloadFile(ctx, info, request.query, request, reply);
      return reply.send(await uploadFiles(ctx, info, request.query, request));
    };

    app.route<{ Params: Params; Querystring: FilesQuery }>({
      method: ['GET', 'POST', 'HEAD'],
      url: `${ENVD_PREFIX}/:sandboxId/*`,
      config,
      handler: async (request, reply) => {
        const { sandboxId } = request.params;
        const path = `/${request.params['*']}`;
        const info = running(sandboxId, reply);
        if (!info) return reply;
        if (path === '/health') return reply.code(204).send();
        if (path === '/files') return files(info, request.method === 'POST' ? 'write' : 'read', request, reply);
        const handler = request.method === 'POST' ? handlers.get(path) : undefined;
        if (!handler) return reply.code(404).send(e2bError(404, `No envd route ${request.method} ${path}.`).body);
        if (!ctx.tokens.verify(sandboxId, header(request, 'x-access-token'))) {
          return reply.code(401).send(e2bError(401, 'unauthorized access, please provide a valid access token or method signing if supported').body);
        }
        reply.hijack();
        const release = ctx.sockets.add(sandboxId, request.raw.socket);
        reply.raw.once('close', release);
        const call = { sandboxId, user: basicAuthUser(header(request, 'authorization')), keepaliveMs: keepaliveMsOf(request, ctx.server.keepaliveMs) };
        await serveRpc(handler, request.raw, reply.raw, call).catch((err: unknown) => {
          request.log.error({ err, path }, 'envd rpc failed');
          if (!reply.raw.headersSent) reply.raw.writeHead(500).end();
          else reply.raw.destroy();
        });
      },
    });

    // Signed URLs from `downloadUrl()` / `uploadUrl()` carry no sandbox id.
    app.route<{ Querystring: FilesQuery }>({
      method: ['GET', 'POST'],
      url: '/files',
      config,
      handler: async (request, reply) => {
        const operation: FileOperation = request.method === 'POST' ? 'write' : 'read';
        const sandboxId = sandboxForSignature(ctx, operation, request.query);
        if (!sandboxId) return reply.code(401).send(e2bError(401, 'A signed URL is needed here (downloadUrl/uploadUrl), or send E2b-Sandbox-Id with X-Access-Token.').body);
        const info = running(sandboxId, reply);
        if (!info) return reply;
        return files(info, operation, request, reply);
      },
    });
  };
}
