/** Shared setup of the process-tier host tests: skip when the host lacks bwrap & co, a temp data dir, run-to-completion. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecSpec, ProcessExit } from '../../src/domain/process.js';
import type { IsolationBackend } from '../../src/port/isolation-backend.js';
import { createProcessBackend } from '../../src/backends/process/index.js';
import { DEFAULT_TOOLS, missingPrerequisites, probeHost } from '../../src/backends/process/capabilities.js';

/** Why host tests cannot run here, or undefined when they can. */
export async function hostSkipReason(): Promise<string | undefined> {
  const missing = missingPrerequisites(await probeHost(DEFAULT_TOOLS));
  return missing.length > 0 ? `process backend unsupported: missing ${missing.join(', ')}` : undefined;
}

export function tempBackend(prefix: string): { backend: IsolationBackend; dataDir: string; cleanup: () => void } {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  return { backend: createProcessBackend({ dataDir }), dataDir, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
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
