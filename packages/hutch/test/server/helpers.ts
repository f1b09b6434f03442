/**
 * Shared setup for server tests: a server over the fake backend (in-process with `inject()`, or
 * listening on 127.0.0.1:0 for streams and WebSockets), with a known API key, plus small helpers to
 * create sandboxes and parse NDJSON/SSE bodies.
 */
import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import pino from 'pino';
import { rmSync } from 'node:fs';
import { createFakeBackend, type FakeBackend, type FakeBackendOptions } from '../../src/backends/fake/index.js';
import { Engine, type EngineOptions } from '../../src/engine/engine.js';
import { BackendRegistry } from '../../src/port/registry.js';
import { buildServer } from '../../src/server/index.js';
import { tempDir, type TestEngine } from '../engine/helpers.js';

export const API_KEY = 'hutch_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
export const AUTH = { authorization: `Bearer ${API_KEY}` };

export interface TestServer extends TestEngine {
  app: FastifyInstance;
  /** Base URL when listening (`listen: true`). */
  url: string;
  /** Every log line written so far (JSON strings). */
  logs: string[];
  /** `app.inject` with the API key added unless `headers` says otherwise. */
  request(options: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  fake?: FakeBackendOptions;
  /** A ready-made fake (e.g. a subclass); `fake` options are then ignored. */
  backend?: FakeBackend;
  engine?: Partial<EngineOptions>;
  listen?: boolean;
  keepaliveMs?: number;
}

export async function openTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = tempDir('hutch-server-test-');
  const fake = options.backend ?? createFakeBackend(options.fake);
  const engine = await Engine.open({ dataDir, registry: new BackendRegistry().register(fake), diskProbe: () => 100 * 1024 ** 3, ...options.engine });
  const base: TestEngine = {
    engine,
    fake,
    dataDir,
    cleanup: async () => {
      await engine.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const logger = pino({ level: 'info', redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers["x-access-token"]'], censor: '[Redacted]' } }, sink);
  const app = buildServer({ engine: base.engine, apiKeys: [API_KEY], logger, shutdownGraceMs: 50, ...(options.keepaliveMs ? { keepaliveMs: options.keepaliveMs } : {}) });
  let url = '';
  if (options.listen) url = await app.listen({ host: '127.0.0.1', port: 0 });
  else await app.ready();
  return {
    ...base,
    app,
    url,
    logs,
    request: (req) => app.inject({ ...req, headers: { ...AUTH, ...(req.headers ?? {}) } }),
    close: async () => {
      await app.close();
      await base.cleanup();
    },
  };
}

export interface Created {
  id: string;
  state: string;
  accessToken: string;
  [key: string]: unknown;
}

export async function createSandbox(server: TestServer, body: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Created> {
  const res = await server.request({ method: 'POST', url: '/v1/sandboxes', payload: body, headers });
  if (res.statusCode !== 201) throw new Error(`create failed: ${res.statusCode} ${res.body}`);
  return res.json() as Created;
}

export type Frame = { type: string; [key: string]: unknown };

export function parseNdjson(body: string): Frame[] {
  return body
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Frame);
}

/** SSE events as `{event, id?, data}`. */
export function parseSse(body: string): Array<{ event: string; id?: string; data: Frame }> {
  return body
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const fields = Object.fromEntries(block.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]));
      return { event: fields.event ?? 'message', ...(fields.id ? { id: fields.id } : {}), data: JSON.parse(fields.data ?? 'null') as Frame };
    });
}

/** Decoded process output of a frame list, by stream. */
export function outputOf(frames: Frame[], stream: string): string {
  return frames
    .filter((f) => f.type === 'output' && f.stream === stream)
    .map((f) => Buffer.from(String(f.data), 'base64').toString())
    .join('');
}

/**
 * Reads an NDJSON response body line by line (for streams that stay open): calls `onFrame` for
 * each frame until it returns true, then cancels the body.
 */
export async function readFramesUntil(response: Response, onFrame: (frame: Frame) => boolean | Promise<boolean>): Promise<Frame[]> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const frames: Frame[] = [];
  let buffered = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return frames;
      buffered += decoder.decode(value, { stream: true });
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        const frame = JSON.parse(line) as Frame;
        frames.push(frame);
        if (await onFrame(frame)) return frames;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
