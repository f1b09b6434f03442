/**
 * E2B credentials, mapped onto Hutch's.
 * - API key: E2B SDKs send `X-API-KEY`, and SDKs up to 2.45 refuse keys that do not match
 *   `e2b_<hex>`. Hutch keys are `hutch_<64 hex>`, so the E2B form of a Hutch key is the same hex
 *   behind `e2b_` (`e2b_${HUTCH_API_KEY#hutch_}`); the Hutch key itself is accepted too. No new
 *   secret is stored: `e2b_<x>` is checked as `hutch_<x>` against the server's key hashes.
 * - envd access token (`envdAccessToken`, sent back as `X-Access-Token`): the server must know it in
 *   plaintext, because signed file URLs are sha256 over it (§3.6 of the protocol notes). It is
 *   derived, not stored: HMAC-SHA256 of the sandbox id under a server secret kept in the engine's
 *   settings (created on first use), so create and every connect return the same token.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { matchesHash, type SettingsStore } from '../auth.js';

const SECRET_SETTING = 'e2b-envd-token-secret';

/** The E2B form of a Hutch API key (`hutch_<hex>` → `e2b_<hex>`); other keys are returned as they are. */
export function e2bApiKeyFor(hutchKey: string): string {
  return hutchKey.startsWith('hutch_') ? `e2b_${hutchKey.slice('hutch_'.length)}` : hutchKey;
}

/** True when `key` (an `X-API-KEY` value, E2B or Hutch form) opens the server. */
export function apiKeyAccepted(key: string | undefined, apiKeyHashes: readonly string[]): boolean {
  if (!key) return false;
  if (matchesHash(key, apiKeyHashes)) return true;
  return key.startsWith('e2b_') && matchesHash(`hutch_${key.slice(4)}`, apiKeyHashes);
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Derives and checks envd access tokens (see the module comment). */
export class EnvdTokens {
  private secret: Buffer | undefined;

  constructor(private readonly settings: SettingsStore) {}

  private key(): Buffer {
    if (this.secret) return this.secret;
    let stored = this.settings.get(SECRET_SETTING);
    if (!stored) {
      stored = randomBytes(32).toString('hex');
      this.settings.set(SECRET_SETTING, stored);
    }
    return (this.secret = Buffer.from(stored, 'hex'));
  }

  /** The sandbox's envd access token (the same on every call). */
  tokenFor(sandboxId: string): string {
    return createHmac('sha256', this.key()).update(`envd:${sandboxId}`).digest('hex');
  }

  verify(sandboxId: string, token: string | undefined): boolean {
    return token !== undefined && equal(token, this.tokenFor(sandboxId));
  }
}

export type FileOperation = 'read' | 'write';

/**
 * E2B's file URL signature: `v1_` + unpadded base64 of sha256(`path:op:user:token[:expiration]`).
 * `path` is the raw `path` query value and `user` the `username` query value or "".
 */
export function fileSignature(path: string, operation: FileOperation, user: string, token: string, expirationUnix?: number): string {
  const payload = `${path}:${operation}:${user}:${token}${expirationUnix !== undefined ? `:${expirationUnix}` : ''}`;
  return `v1_${createHash('sha256').update(payload).digest('base64').replace(/=+$/, '')}`;
}

/** Whether `signature` signs this request with `token`. Expiry is checked by the caller. */
export function signatureMatches(signature: string, path: string, operation: FileOperation, user: string, token: string, expirationUnix?: number): boolean {
  return equal(signature, fileSignature(path, operation, user, token, expirationUnix));
}
