/**
 * The Hutch HTTP server: `serve` runs it (engine, API key, listen, graceful shutdown) and
 * `buildServer` builds it without listening (tests, embedding). See docs/api.md for the routes.
 */
export { buildServer } from './app.js';
export type { BuildServerOptions } from './app.js';
export { serve, DEFAULT_HOST, DEFAULT_PORT } from './serve.js';
export { defaultDataDir } from './data-dir.js';
export type { ServeOptions, RunningServer } from './serve.js';
export { createServerLogger } from './logger.js';
export type { ServerLoggerOptions } from './logger.js';
export { errorToResponse } from './errors.js';
export type { ErrorResponse } from './errors.js';
export { loadOrCreateApiKey, generateApiKey } from './auth.js';
export type { ApiKeySetup } from './auth.js';
