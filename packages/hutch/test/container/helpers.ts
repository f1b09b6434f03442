/** Shared setup of the container-tier tests: skip reasons, the base template's root, a temp backend, run-to-completion. */
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecSpec, ProcessExit } from '../../src/domain/process.js';
import type { IsolationBackend } from '../../src/port/isolation-backend.js';
import { createContainerBackend } from '../../src/backends/container/index.js';
import { DEFAULT_TOOLS, missingPrerequisites, probeHost } from '../../src/backends/container/capabilities.js';
import { TemplateStore } from '../../src/templates/store.js';

/** Why container tests cannot run here, or undefined when they can. */
export async function containerSkipReason(): Promise<string | undefined> {
  const missing = missingPrerequisites(await probeHost(DEFAULT_TOOLS));
  if (missing.length > 0) return `container backend unsupported: missing ${missing.join(', ')}`;
  if (!existsSync('/usr/sbin/debootstrap') && !existsSync('/var/cache/hutch/templates')) return 'no base template: debootstrap is not installed and nothing is cached';
  return undefined;
}

/** The `base` template's root under `dataDir` (built on first use, cached machine-wide). */
export async function baseRootfs(dataDir: string): Promise<string> {
  return (await new TemplateStore({ dataDir }).resolve('base')).rootfsPath;
}

export function tempBackend(prefix: string): { backend: IsolationBackend; dataDir: string; cleanup: () => void } {
  const dataDir = mkdtempSync(join('/var/tmp', prefix));
  chmodSync(dataDir, 0o711);
  return { backend: createContainerBackend({ dataDir }), dataDir, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
}

/** A temp backend with one running sandbox `id` on the base template; `close` destroys it and removes the data dir. */
export interface BaseSandbox {
  backend: IsolationBackend;
  dataDir: string;
  rootfsPath: string;
  close(): Promise<void>;
}

export async function startBaseSandbox(prefix: string, id: string): Promise<BaseSandbox> {
  const { backend, dataDir, cleanup } = tempBackend(prefix);
  const rootfsPath = await baseRootfs(dataDir);
  await backend.create({ id, rootfsPath, resources: { memoryMib: 512, pids: 128 }, env: {}, network: { mode: 'none' } });
  await backend.start(id);
  const close = async () => {
    await backend.destroy(id).catch(() => undefined);
    await backend.close();
    cleanup();
  };
  return { backend, dataDir, rootfsPath, close };
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exit: ProcessExit;
  pid: number;
}

export async function run(backend: IsolationBackend, id: string, spec: ExecSpec): Promise<RunResult> {
  const handle = await backend.exec(id, spec);
  let stdout = '';
  let stderr = '';
  for await (const chunk of handle.output()) {
    if (chunk.stream === 'stderr') stderr += Buffer.from(chunk.data).toString();
    else stdout += Buffer.from(chunk.data).toString();
  }
  return { stdout, stderr, exit: await handle.wait(), pid: handle.pid };
}
