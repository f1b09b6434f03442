/**
 * Connection settings of the SDK, resolved in one place: explicit options, then the environment
 * (`HUTCH_API_URL`, `HUTCH_API_KEY`), then defaults. Also composes the caller's `AbortSignal`
 * with the request timeout.
 */

/** Where the SDK looks when `apiUrl` is neither given nor set in `HUTCH_API_URL`. */
export const DEFAULT_API_URL = 'http://127.0.0.1:7410';
/** Default bound on one request (until its response arrives), in milliseconds. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

/** Options every SDK entry point accepts to say which server to talk to and how. */
export interface ConnectionOptions {
  /**
   * Base URL of the Hutch server.
   * @default process.env.HUTCH_API_URL, else `http://127.0.0.1:7410`
   */
  apiUrl?: string;
  /**
   * API key, sent as `Authorization: Bearer <key>`.
   * @default process.env.HUTCH_API_KEY
   */
  apiKey?: string;
  /**
   * Bound on each request until the server answers (streams: until the response starts), in
   * milliseconds. `0` disables it.
   * @default 60000
   */
  requestTimeoutMs?: number;
  /** Extra headers sent on every request. */
  headers?: Record<string, string>;
}

/** Per-call options: every async SDK method takes them as its last parameter. */
export interface CallOptions {
  /** Aborts the call; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Overrides the connection's `requestTimeoutMs` for this call. */
  requestTimeoutMs?: number;
}

/** Resolved connection settings (immutable). */
export class ConnectionConfig {
  readonly apiUrl: string;
  readonly apiKey: string | undefined;
  readonly requestTimeoutMs: number;
  readonly headers: Record<string, string>;

  constructor(options: ConnectionOptions = {}, env: Record<string, string | undefined> = readEnv()) {
    this.apiUrl = stripTrailingSlash(options.apiUrl ?? nonEmpty(env.HUTCH_API_URL) ?? DEFAULT_API_URL);
    this.apiKey = options.apiKey ?? nonEmpty(env.HUTCH_API_KEY);
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.headers = { ...options.headers };
    if (!Number.isFinite(this.requestTimeoutMs) || this.requestTimeoutMs < 0) {
      throw new RangeError(`requestTimeoutMs must be a non-negative number of milliseconds, got ${String(options.requestTimeoutMs)}.`);
    }
    try {
      new URL(this.apiUrl);
    } catch (err) {
      throw new TypeError(`apiUrl "${this.apiUrl}" is not a valid URL.`, { cause: err });
    }
  }

  /** The options that reproduce this config (for handing to another object). */
  toOptions(): ConnectionOptions {
    return { apiUrl: this.apiUrl, ...(this.apiKey ? { apiKey: this.apiKey } : {}), requestTimeoutMs: this.requestTimeoutMs, headers: { ...this.headers } };
  }
}

/**
 * Combines an optional caller signal with a timeout (`0`/undefined: none). Returns undefined when
 * there is nothing to wait on.
 */
export function composeSignal(signal: AbortSignal | undefined, timeoutMs: number | undefined): AbortSignal | undefined {
  const timeout = timeoutMs && timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined;
  if (signal && timeout) return AbortSignal.any([signal, timeout]);
  return signal ?? timeout;
}

function readEnv(): Record<string, string | undefined> {
  // `process` is absent outside Node-like runtimes; the SDK then relies on explicit options.
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return proc?.env ?? {};
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function stripTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
