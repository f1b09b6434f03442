/**
 * What the E2B plugins share: the server context, the accepted API key hashes, the envd tokens and
 * the open envd connections per sandbox (dropped when a sandbox is killed or paused).
 */
import type { FastifyRequest } from 'fastify';
import { SandboxNotFoundError } from '../../domain/errors.js';
import type { SandboxInfo } from '../../domain/sandbox.js';
import type { ServerContext } from '../context.js';
import type { EnvdTokens } from './credentials.js';
import type { SandboxSockets } from './sandbox-sockets.js';

export interface E2bContext {
  server: ServerContext;
  apiKeyHashes: readonly string[];
  tokens: EnvdTokens;
  sockets: SandboxSockets;
  /** The user commands and files default to in a sandbox (its template's user; `root` without one). */
  defaultUser(info: SandboxInfo): Promise<string>;
  /**
   * Gives `paths` to `user` (default: the sandbox's default user), as envd creates files owned by
   * the caller. No-op for root.
   */
  chownToUser(sandboxId: string, user: string | undefined, paths: string[]): Promise<void>;
}

/** A sandbox E2B can see: live ones only (a destroyed or failed sandbox is "not found" to E2B). */
export function liveSandbox(ctx: E2bContext, sandboxId: string): SandboxInfo {
  const info = ctx.server.engine.get(sandboxId);
  if (info.state === 'destroyed' || info.state === 'failed') throw new SandboxNotFoundError(sandboxId);
  return info;
}

/**
 * The `domain` returned to SDKs, which they use for `getHost(port)` = `<port>-<id>.<domain>`: the
 * host the client reached us on, with loopback addresses named `localhost` (browsers and curl
 * resolve `*.localhost` to loopback; the port proxy accepts such hosts).
 */
export function sandboxDomain(request: FastifyRequest): string | null {
  const host = request.headers.host;
  if (!host) return null;
  const match = /^(?:127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.exec(host);
  return match ? `localhost${match[1] ?? ''}` : host;
}
