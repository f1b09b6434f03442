/** Shared setup for engine tests: a temporary data directory and an engine over the fake backend. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFakeBackend, type FakeBackend, type FakeBackendOptions } from '../../src/backends/fake/index.js';
import { Engine, type EngineOptions } from '../../src/engine/engine.js';
import { BackendRegistry } from '../../src/port/registry.js';

export interface TestEngine {
  engine: Engine;
  fake: FakeBackend;
  dataDir: string;
  cleanup: () => Promise<void>;
}

export function tempDir(prefix = 'hutch-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function openTestEngine(options: { fake?: FakeBackendOptions; engine?: Partial<EngineOptions>; dataDir?: string } = {}): Promise<TestEngine> {
  const dataDir = options.dataDir ?? tempDir();
  const fake = createFakeBackend(options.fake);
  const registry = new BackendRegistry().register(fake);
  const engine = await Engine.open({ dataDir, registry, diskProbe: () => 100 * 1024 ** 3, ...options.engine });
  return {
    engine,
    fake,
    dataDir,
    cleanup: async () => {
      await engine.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Waits until `predicate` holds (polling), or fails after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
