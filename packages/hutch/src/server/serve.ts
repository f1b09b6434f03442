/**
 * Runs the Hutch server: opens the engine over the caller's backend registry, loads (or creates
 * and prints once) the API key, listens, and shuts down gracefully on SIGINT/SIGTERM: stop
 * accepting, end open streams and sockets, close the engine. Sandboxes keep running; the next
 * start adopts them.
 *
 * Settings resolve as: options, then env (`HUTCH_DATA_DIR`, `HUTCH_HOST`, `HUTCH_PORT`,
 * `HUTCH_API_KEY`), then defaults (`/var/lib/hutch` as root, else `~/.hutch`; `127.0.0.1`; `7410`).
 *
 *   const server = await serve({ registry: new BackendRegistry().register(createFakeBackend()) });
 *   console.log(server.url);
 *   await server.close();
 */
import { resolve } from 'node:path';
import { defaultDataDir } from './data-dir.js';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { AdmissionLimits } from '../engine/admission.js';
import { Engine, type EngineOptions } from '../engine/engine.js';
import type { BackendRegistry } from '../port/registry.js';
import { buildServer } from './app.js';
import { loadOrCreateApiKey } from './auth.js';
import { e2bApiKeyFor } from './e2b/credentials.js';
import { createServerLogger } from './logger.js';

export const DEFAULT_HOST = '127.0.0.1';

export const DEFAULT_PORT = 7410;

export interface ServeOptions {
  /** The backends to run sandboxes on (the caller builds it; the first registered is the default). */
  registry: BackendRegistry;
  /** State directory (default `$HUTCH_DATA_DIR`, else see `defaultDataDir`). */
  dataDir?: string;
  /** Listen address (default `$HUTCH_HOST` or 127.0.0.1). */
  host?: string;
  /** Listen port (default `$HUTCH_PORT` or 7410; 0 picks a free one). */
  port?: number;
  /** The API key to accept (default `$HUTCH_API_KEY`, else the stored one, else a new one printed once). */
  apiKey?: string;
  /** Replace the stored API key with a new one (printed once). */
  resetApiKey?: boolean;
  /** Engine admission limits. */
  limits?: Partial<AdmissionLimits>;
  /** Other engine options (templates, pools, default timeout...). */
  engine?: Partial<Omit<EngineOptions, 'dataDir' | 'registry' | 'limits'>>;
  /** Logger (default: pino JSON on stderr at `info`). */
  logger?: FastifyBaseLogger;
  /** No logs and no banner (a newly created API key is still printed: it is shown only once). */
  quiet?: boolean;
  /** Shut down on SIGINT/SIGTERM (default true). */
  handleSignals?: boolean;
  /** Where the banner and the one-time key go (default stdout). */
  print?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

export interface RunningServer {
  /** `http://host:port` actually listened on. */
  url: string;
  app: FastifyInstance;
  engine: Engine;
  /** Stops accepting, ends open streams and sockets, closes the engine (sandboxes keep running). Idempotent. */
  close(): Promise<void>;
}

function resolvePort(value: number | undefined, env: string | undefined): number {
  if (value !== undefined) return value;
  if (env === undefined || env === '') return DEFAULT_PORT;
  const port = Number(env);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError(`HUTCH_PORT must be a port number, not "${env}".`);
  return port;
}

export async function serve(options: ServeOptions): Promise<RunningServer> {
  const env = options.env ?? process.env;
  const print = options.print ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const dataDir = resolve(options.dataDir ?? defaultDataDir(env));
  const host = options.host ?? env.HUTCH_HOST ?? DEFAULT_HOST;
  const port = resolvePort(options.port, env.HUTCH_PORT);
  const logger = options.quiet ? undefined : (options.logger ?? createServerLogger());

  const engine = await Engine.open({ ...options.engine, dataDir, registry: options.registry, ...(options.limits ? { limits: options.limits } : {}), ...(logger ? { logger } : {}) });
  let app: FastifyInstance | undefined;
  try {
    const keys = loadOrCreateApiKey(engine.settings, { envKey: options.apiKey ?? env.HUTCH_API_KEY, reset: options.resetApiKey ?? false });
    if (keys.created) {
      print(`Hutch API key (shown once; only its hash is stored): ${keys.created}`);
      print(`The same key for the e2b SDK: E2B_API_KEY=${e2bApiKeyFor(keys.created)}`);
      print('Set HUTCH_API_KEY to choose your own, or restart with a key reset to replace this one.');
    }
    app = buildServer({ engine, apiKeyHashes: keys.hashes, logger: logger ?? false });
    await app.listen({ host, port });
  } catch (err) {
    await app?.close();
    await engine.close();
    throw err;
  }
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  if (!options.quiet) print(`Hutch listening on ${url} (data in ${dataDir}; console at ${url}/)`);

  let closing: Promise<void> | undefined;
  const server = app;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await server.close();
      await engine.close();
    })();
    return closing;
  };
  let signals = 0;
  function onSignal(signal: NodeJS.Signals): void {
    // A second signal while shutting down exits at once.
    if (++signals > 1) process.exit(130);
    logger?.info({ signal }, 'shutting down: ending streams, closing the engine (sandboxes keep running)');
    close().catch((err: unknown) => {
      logger?.error({ err }, 'shutdown failed');
      process.exitCode = 1;
    });
  }
  if (options.handleSignals ?? true) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  return { url, app, engine, close };
}
