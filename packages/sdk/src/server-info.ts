/**
 * Questions about the server itself: is it up (`getHealth`, no API key needed) and what can a
 * backend do (`getCapabilities`).
 */
import { ConnectionConfig, type CallOptions, type ConnectionOptions } from './connection-config.js';
import { HttpClient } from './http-client.js';

/** `GET /v1/health`. */
export interface HealthInfo {
  status: 'ok';
  version: string;
}

/** A backend's capability report (see the server's `port/capabilities.ts`). */
export interface CapabilityReport {
  /** Backend kind: `fake`, `process`, `container`, `microvm`. */
  kind: string;
  version: string;
  health: { status: 'healthy' } | { status: 'degraded'; reason: string } | { status: 'unsupported_host'; missing: string[] };
  platform: { os: string; arch: string; kernel: string; emulated: boolean };
  capabilities: string[];
  notes: Record<string, string>;
}

/** Checks that the server answers. Throws `ConnectionError` when it cannot be reached. */
export async function getHealth(options: ConnectionOptions & CallOptions = {}): Promise<HealthInfo> {
  return new HttpClient(new ConnectionConfig(options)).json<HealthInfo>({ method: 'GET', path: '/v1/health' }, options);
}

/** The capability report of a backend (default: the server's default backend). */
export async function getCapabilities(options: ConnectionOptions & CallOptions & { backend?: string } = {}): Promise<CapabilityReport> {
  return new HttpClient(new ConnectionConfig(options)).json<CapabilityReport>({ method: 'GET', path: '/v1/capabilities', query: { backend: options.backend } }, options);
}
