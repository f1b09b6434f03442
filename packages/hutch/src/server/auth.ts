/**
 * Authentication: one server API key and per-sandbox access tokens. Only sha256 hashes are stored
 * (in the engine's settings); comparisons are constant-time.
 * - API key `hutch_<64 hex>`: created on first start and printed once, or set by `HUTCH_API_KEY`.
 *   Sent as `Authorization: Bearer <key>` or `X-API-Key: <key>`; opens every route.
 * - Access token `hst_<sandboxId>_<48 hex>`: returned once by create/restore/fork; sent as
 *   `X-Access-Token`; opens `/v1/sandboxes/{id}` and everything under it for its own sandbox only.
 *   A valid token used on another sandbox's routes is `forbidden` (403), not `unauthorized`.
 * - WebSocket routes (`config.queryToken`) also take either credential as `?token=`, since browsers
 *   cannot set headers on a WebSocket.
 * An idempotent create retry returns a new token (the first one's plaintext is never kept); every
 * issued token stays valid for the sandbox's life.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthorizedError } from './errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `public`: no credentials needed (health, console). Default: API key or access token. */
    auth?: 'public';
    /** Also accept the credential as `?token=` (WebSocket routes). */
    queryToken?: boolean;
    /** The body is streamed raw to the handler (file upload); documented as octet-stream. */
    rawBody?: boolean;
    /** Every body field is optional: a request without a body means `{}`. */
    optionalBody?: boolean;
  }
}

/** Engine settings store (`engine.settings`). */
export interface SettingsStore {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
}

export const API_KEY_SETTING = 'api-key-sha256';
const TOKEN_SETTING_PREFIX = 'sandbox-token:';
/** Tokens kept per sandbox (each idempotent retry adds one); the oldest are dropped past this. */
const MAX_TOKENS_PER_SANDBOX = 32;
const TOKEN_FORMAT = /^hst_([A-Za-z0-9-]{1,128})_([0-9a-f]{48})$/;

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** True when `secret` hashes to one of `hashes` (hex sha256), compared in constant time. */
export function matchesHash(secret: string, hashes: readonly string[]): boolean {
  const candidate = Buffer.from(sha256Hex(secret), 'hex');
  let found = false;
  for (const hash of hashes) {
    const stored = Buffer.from(hash, 'hex');
    if (stored.length === candidate.length && timingSafeEqual(stored, candidate)) found = true;
  }
  return found;
}

export function generateApiKey(): string {
  return `hutch_${randomBytes(32).toString('hex')}`;
}

export interface ApiKeySetup {
  /** Hashes that open the server. */
  hashes: string[];
  /** The plaintext key when it was just created (print it once), else undefined. */
  created: string | undefined;
}

/**
 * The API key hashes to accept: `envKey` (HUTCH_API_KEY) when set, otherwise the stored hash,
 * otherwise a new key whose hash is stored and whose plaintext is returned once in `created`.
 * `reset` replaces the stored key with a new one.
 */
export function loadOrCreateApiKey(settings: SettingsStore, options: { envKey?: string | undefined; reset?: boolean } = {}): ApiKeySetup {
  if (options.envKey) return { hashes: [sha256Hex(options.envKey)], created: undefined };
  const stored = settings.get(API_KEY_SETTING);
  if (stored && !options.reset) return { hashes: [stored], created: undefined };
  const key = generateApiKey();
  settings.set(API_KEY_SETTING, sha256Hex(key));
  return { hashes: [sha256Hex(key)], created: key };
}

/** Per-sandbox access tokens, stored as hashes under `sandbox-token:<id>`. */
export class AccessTokens {
  constructor(private readonly settings: SettingsStore) {}

  /** A new token for `sandboxId`; earlier ones stay valid. */
  issue(sandboxId: string): string {
    const token = `hst_${sandboxId}_${randomBytes(24).toString('hex')}`;
    const hashes = [...this.hashes(sandboxId), sha256Hex(token)].slice(-MAX_TOKENS_PER_SANDBOX);
    this.settings.set(TOKEN_SETTING_PREFIX + sandboxId, JSON.stringify(hashes));
    return token;
  }

  /** The sandbox a valid token opens, or undefined. */
  verify(token: string): string | undefined {
    const match = TOKEN_FORMAT.exec(token);
    if (!match) return undefined;
    const sandboxId = match[1]!;
    return matchesHash(token, this.hashes(sandboxId)) ? sandboxId : undefined;
  }

  private hashes(sandboxId: string): string[] {
    const raw = this.settings.get(TOKEN_SETTING_PREFIX + sandboxId);
    return raw ? (JSON.parse(raw) as string[]) : [];
  }
}

export interface AuthConfig {
  apiKeyHashes: readonly string[];
  tokens: AccessTokens;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** The sandbox id a route is scoped to (`/v1/sandboxes/:id` and below), if any. */
function scopedSandbox(request: FastifyRequest): string | undefined {
  const url = request.routeOptions.url ?? '';
  if (!url.startsWith('/v1/sandboxes/:id')) return undefined;
  return (request.params as { id?: string }).id;
}

/** Throws `UnauthorizedError` / `ForbiddenError` unless the request carries a credential that opens its route. */
export function authenticate(request: FastifyRequest, config: AuthConfig): void {
  if (request.routeOptions.config.auth === 'public') return;
  const bearer = header(request, 'authorization');
  const queryToken = request.routeOptions.config.queryToken ? (request.query as { token?: string }).token : undefined;
  const apiKey = (bearer?.toLowerCase().startsWith('bearer ') ? bearer.slice(7).trim() : undefined) ?? header(request, 'x-api-key') ?? queryToken;
  if (apiKey && matchesHash(apiKey, config.apiKeyHashes)) return;
  const token = header(request, 'x-access-token') ?? queryToken;
  if (!token) throw new UnauthorizedError();
  const opens = config.tokens.verify(token);
  if (!opens) throw new UnauthorizedError();
  const scoped = scopedSandbox(request);
  if (scoped !== opens) throw new ForbiddenError(`This access token opens sandbox ${opens} only${scoped ? '' : ', not server-wide routes'}. Use the API key for other routes.`);
}
