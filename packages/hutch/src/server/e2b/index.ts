/**
 * E2B compatibility: the unmodified `e2b` SDK (2.45–2.51) works against Hutch when pointed at it with
 * `E2B_API_URL` and `E2B_SANDBOX_URL` (both the server's URL) and `E2B_API_KEY` (the Hutch key in
 * its `e2b_` form, see credentials.ts). Three planes on the server's own port:
 * - control plane (control-plane.ts): `/sandboxes`, `/v2/sandboxes`, connect, pause, snapshots...
 * - envd data plane (envd/): Connect RPC `process.Process` and `filesystem.Filesystem`, `/files`,
 *   `/health`, selected by `E2b-Sandbox-Id`;
 * - port proxy (port-proxy.ts): any other `E2b-Sandbox-Port`, or `Host: <port>-<id>.<domain>`.
 * The server wires it with two lines: `rewriteUrl: rewriteE2bUrl` (dispatch by header before
 * routing) and `app.register(e2bRoutes(ctx, auth))`.
 * Spec: shared/research/e2b-protocol.md.
 */
import type { FastifyInstance } from 'fastify';
import { BackendFailureError } from '../../domain/errors.js';
import type { SandboxInfo } from '../../domain/sandbox.js';
import type { ServerContext } from '../context.js';
import type { E2bContext } from './context.js';
import { controlPlaneRoutes } from './control-plane.js';
import { EnvdTokens } from './credentials.js';
import { envdRoutes } from './envd/envd-routes.js';
import { logE2bError, toE2bError } from './errors.js';
import { portProxyRoutes } from './port-proxy.js';
import { SandboxSockets } from './sandbox-sockets.js';

export { rewriteE2bUrl } from './dispatch.js';
export { e2bApiKeyFor } from './credentials.js';

function e2bContext(server: ServerContext, apiKeyHashes: readonly string[]): E2bContext {
  const { engine } = server;
  const templateUsers = new Map<string, string>();
  const defaultUser = async (info: SandboxInfo): Promise<string> => {
    if (!info.template) return 'root';
    let user = templateUsers.get(info.template);
    if (user === undefined) templateUsers.set(info.template, (user = (await engine.lifecycle.templateFor(info.template)).user ?? 'root'));
    return user;
  };
  return {
    server,
    apiKeyHashes,
    tokens: new EnvdTokens(engine.settings),
    sockets: new SandboxSockets(),
    defaultUser,
    // envd creates files as the calling user; the port writes them as the sandbox's root, so they
    // are handed over here. TODO(#7): an owner option on the port's writeFile/mkdir.
    async chownToUser(sandboxId, user, paths) {
      const owner = user ?? (await defaultUser(engine.get(sandboxId)));
      if (owner === 'root' || paths.length === 0) return;
      const result = await engine.processes.run(sandboxId, { cmd: 'chown', args: ['-h', `${owner}:`, '--', ...paths], user: 'root', cwd: '/' });
      if (result.exitCode !== 0) throw new BackendFailureError(`Could not give the written files to ${owner}: ${result.stderr.trim().slice(0, 200)}`, { sandboxId });
    },
  };
}

/**
 * The E2B plugin: control plane, envd and port proxy, each in its own scope (own body parsing),
 * with E2B-shaped errors. `auth.apiKeyHashes` are the server's API key hashes.
 */
export function e2bRoutes(server: ServerContext, auth: { apiKeyHashes: readonly string[] }) {
  const ctx = e2bContext(server, auth.apiKeyHashes);
  return async function routes(app: FastifyInstance): Promise<void> {
    app.setErrorHandler((error, request, reply) => {
      const response = toE2bError(error);
      logE2bError(request.log, error);
      return reply.code(response.status).send(response.body);
    });
    const follow = new AbortController();
    app.addHook('onReady', async () => {
      ctx.sockets.follow(server.engine, follow.signal).catch((err: unknown) => app.log.error({ err }, 'E2B socket tracking ended'));
    });
    app.addHook('preClose', async () => follow.abort());
    await app.register(controlPlaneRoutes(ctx));
    await app.register(envdRoutes(ctx));
    await app.register(portProxyRoutes(ctx));
  };
}
