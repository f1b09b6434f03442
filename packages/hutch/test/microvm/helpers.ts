/**
 * Shared setup of the microVM host tests: the `base` template root from the template store, a
 * fresh data dir, and the backend with the explicit TCG opt-in (this CI host has no usable KVM).
 * Skips (with the reason printed) when the host lacks QEMU or the tools to build the guest.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMicrovmBackend, type MicrovmBackendOptions } from '../../src/backends/microvm/index.js';
import type { IsolationBackend } from '../../src/port/isolation-backend.js';
import { TemplateStore } from '../../src/templates/store.js';

export interface MicrovmTestSetup {
  skipReason?: string;
  dataDir: string;
  rootfsPath: string;
  /** A backend on the setup's data dir; `extra` adds options (egress settings). */
  create: (extra?: Partial<MicrovmBackendOptions>) => IsolationBackend;
  cleanup: () => void;
}

export async function microvmTestSetup(prefix: string): Promise<MicrovmTestSetup> {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const create = (extra: Partial<MicrovmBackendOptions> = {}) => createMicrovmBackend({ dataDir: join(dataDir, 'vm'), accel: 'tcg', ...extra });
  const cleanup = () => rmSync(dataDir, { recursive: true, force: true });
  const report = await create().capabilities();
  if (report.health.status === 'unsupported_host') {
    return { skipReason: `microvm backend unsupported here: missing ${report.health.missing.join(', ')}`, dataDir, rootfsPath: '', create, cleanup };
  }
  try {
    const base = await new TemplateStore({ dataDir: join(dataDir, 'tpl') }).resolve('base');
    return { dataDir, rootfsPath: base.rootfsPath, create, cleanup };
  } catch (err) {
    return { skipReason: `the base template could not be built here: ${(err as Error).message}`, dataDir, rootfsPath: '', create, cleanup };
  }
}
