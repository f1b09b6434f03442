/**
 * What every route plugin receives: the engine (the one thing routes call), the access tokens,
 * the open streams (ended on shutdown), metrics and the server's version.
 */
import type { Engine } from '../engine/engine.js';
import type { AccessTokens } from './auth.js';
import type { Metrics } from './metrics.js';
import type { ActiveStreams } from './streaming/active-streams.js';

export interface ServerContext {
  engine: Engine;
  tokens: AccessTokens;
  streams: ActiveStreams;
  metrics: Metrics;
  version: string;
  /** Keepalive interval of streams (ms). */
  keepaliveMs: number;
}
