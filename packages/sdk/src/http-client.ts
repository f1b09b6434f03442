/**
 * The SDK's one door to the server: builds URLs and auth headers, applies the request timeout and
 * the caller's signal, and turns failures into typed errors (non-2xx → `errorFromResponse`,
 * unreachable → `ConnectionError`, no answer in time → `RequestTimeoutError`).
 */
import { ConnectionConfig, type CallOptions } from './connection-config.js';
import { ConnectionError, errorFromResponse, RequestTimeoutError } from './errors.js';
import { parseNdjson } from './ndjson.js';

type QueryValue = string | number | boolean | undefined | null;

/** One request. `json` is sent as a JSON body; `body` is sent raw (streams are uploaded chunked). */
export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  query?: Record<string, QueryValue>;
  json?: unknown;
  body?: Uint8Array | ReadableStream<Uint8Array> | string;
  headers?: Record<string, string>;
}

// Node's fetch needs `duplex: 'half'` to send a stream body; the DOM typings do not know it yet.
type StreamingRequestInit = RequestInit & { duplex?: 'half' };

/** A configured HTTP client bound to one server (and optionally one sandbox's access token). */
export class HttpClient {
  constructor(
    readonly config: ConnectionConfig,
    private readonly accessToken?: string,
  ) {}

  /** A client for the same server that also sends a sandbox's `X-Access-Token`. */
  withAccessToken(accessToken: string | undefined): HttpClient {
    return new HttpClient(this.config, accessToken);
  }

  /** Sends a request and returns the parsed JSON body (undefined for 204). */
  async json<T>(request: HttpRequest, options: CallOptions = {}): Promise<T> {
    const timer = this.timer(options);
    try {
      const response = await this.send(request, options, timer);
      if (response.status === 204) return undefined as T;
      const text = await response.text();
      return (text === '' ? undefined : JSON.parse(text)) as T;
    } catch (err) {
      throw timer.translate(err, request);
    } finally {
      timer.clear();
    }
  }

  /**
   * Sends a request whose response is a stream; the timeout bounds only the wait for the response
   * to start. The body is read by the caller (and cancelled by `options.signal`).
   */
  async stream(request: HttpRequest, options: CallOptions = {}): Promise<Response> {
    const timer = this.timer(options);
    try {
      return await this.send(request, options, timer);
    } catch (err) {
      throw timer.translate(err, request);
    } finally {
      timer.clear();
    }
  }

  /** Sends a request expecting an NDJSON stream and yields its parsed lines. */
  async *ndjson<T>(request: HttpRequest, options: CallOptions = {}): AsyncGenerator<T, void, undefined> {
    const response = await this.stream({ ...request, headers: { accept: 'application/x-ndjson', ...request.headers } }, options);
    if (!response.body) return;
    yield* parseNdjson<T>(response.body, options.signal ? { signal: options.signal } : {});
  }

  /** The absolute URL of a path with its query (used by the WebSocket routes too). */
  url(path: string, query: Record<string, QueryValue> = {}): URL {
    const url = new URL(this.config.apiUrl + path);
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
    }
    return url;
  }

  /** Auth and configured headers for a request. */
  authHeaders(): Record<string, string> {
    const headers: Record<string, string> = { ...this.config.headers };
    if (this.config.apiKey) headers.authorization = `Bearer ${this.config.apiKey}`;
    if (this.accessToken) headers['x-access-token'] = this.accessToken;
    return headers;
  }

  private async send(request: HttpRequest, options: CallOptions, timer: RequestTimer): Promise<Response> {
    const headers: Record<string, string> = { ...this.authHeaders(), ...request.headers };
    const init: StreamingRequestInit = { method: request.method, headers, signal: timer.signal };
    if (request.json !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(request.json);
    } else if (request.body !== undefined) {
      headers['content-type'] ??= 'application/octet-stream';
      // Uint8Array<ArrayBufferLike> is a valid body at runtime; the DOM typings want ArrayBuffer-backed views.
      init.body = request.body as BodyInit;
      if (request.body instanceof ReadableStream) init.duplex = 'half';
    }
    options.signal?.throwIfAborted();
    const response = await fetch(this.url(request.path, request.query), init);
    if (!response.ok) throw await errorFromResponse(response);
    return response;
  }

  private timer(options: CallOptions): RequestTimer {
    return new RequestTimer(options.signal, options.requestTimeoutMs ?? this.config.requestTimeoutMs, this.config.apiUrl);
  }
}

/** Aborts a request that gets no answer in time, and says why a fetch failed. */
class RequestTimer {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly handle: ReturnType<typeof setTimeout> | undefined;
  private timedOut = false;

  constructor(
    private readonly callerSignal: AbortSignal | undefined,
    private readonly timeoutMs: number,
    private readonly apiUrl: string,
  ) {
    this.signal = callerSignal ? AbortSignal.any([callerSignal, this.controller.signal]) : this.controller.signal;
    if (timeoutMs > 0) {
      this.handle = setTimeout(() => {
        this.timedOut = true;
        this.controller.abort(new RequestTimeoutError(timeoutMs, 'The request'));
      }, timeoutMs);
    }
  }

  clear(): void {
    clearTimeout(this.handle);
  }

  translate(err: unknown, request: HttpRequest): unknown {
    if (this.callerSignal?.aborted) return this.callerSignal.reason;
    if (this.timedOut) return new RequestTimeoutError(this.timeoutMs, `${request.method} ${request.path}`);
    // fetch rejects with a TypeError ("fetch failed") when the connection cannot be made.
    if (err instanceof TypeError && (err.message === 'fetch failed' || 'cause' in err)) return new ConnectionError(this.apiUrl, { cause: err });
    return err;
  }
}
