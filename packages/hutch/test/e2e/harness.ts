/**
 * End-to-end harness: starts a real Hutch server on 127.0.0.1 (port 0) over a chosen backend, with
 * a fresh data directory and API key, and tears everything down afterwards (sandboxes destroyed,
 * server closed, directory removed). Also says whether the process tier can run on this machine.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sandbox } from '@hutch/sdk';
import { createFakeBackend } from '../../src/backends/fake/index.js';
import type { IsolationBackend } from '../../src/port/isolation-backend.js';
import { BackendRegistry } from '../../src/port/registry.js';

export type TierName = 'fake' | 'process';

export interface TestServer {
  url: string;
  apiKey: string;
  backend: TierName;
  dataDir: string;
  /** Destroys every sandbox still alive, closes the server and removes the data directory. */
  close(): Promise<void>;
}

export interface TestServerOptions {
  backend: TierName;
  /** Engine admission limits (e.g. `{ maxSandboxes: 1 }`). */
  limits?: { maxSandboxes?: number };
}

/** `dir` must be outside any 0700 directory: the process tier's sandbox root (uid 100000) traverses it. */
async function makeBackend(tier: TierName, dir: string): Promise<IsolationBackend> {
  if (tier === 'fake') return createFakeBackend();
  const { createProcessBackend } = await import('../../src/backends/process/index.js');
  return createProcessBackend({ dataDir: dir });
}

/** Why the process tier cannot run here, or undefined when it is healthy. */
export async function processTierUnavailable(): Promise<string | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'hutch-probe-'));
  try {
    const backend = await makeBackend('process', dir);
    const report = await backend.capabilities();
    await backend.close();
    if (report.health.status === 'healthy') return undefined;
    return report.health.status === 'unsupported_host' ? `process tier unsupported here; missing: ${report.health.missing.join(', ')}` : `process tier degraded: ${report.health.reason}`;
  } catch (err) {
    return `process tier unavailable: ${(err as Error).message}`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Starts a server; call `close()` in `after`. */
export async function startTestServer(options: TestServerOptions): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), `hutch-e2e-${options.backend}-`));
  const apiKey = `hutch_${randomBytes(32).toString('hex')}`;
  const backendDir = await mkdtemp(join(tmpdir(), `hutch-e2e-${options.backend}-backend-`));
  const registry = new BackendRegistry().register(await makeBackend(options.backend, backendDir));
  const { serve } = await import('../../src/server/index.js');
  const server = await serve({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    registry,
    apiKey,
    ...(options.limits ? { limits: options.limits } : {}),
    quiet: true,
    handleSignals: false,
  });
  const url = server.url;
  return {
    url,
    apiKey,
    backend: options.backend,
    dataDir,
    async close() {
      for await (const info of Sandbox.listAll({ apiUrl: url, apiKey, state: ['creating', 'running', 'paused', 'stopped'] })) {
        await Sandbox.destroy(info.id, { apiUrl: url, apiKey });
      }
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
      await rm(backendDir, { recursive: true, force: true });
    },
  };
}
