/**
 * Shared helpers of the conformance suite: the options a backend's test passes in, sandbox setup
 * and teardown, capability-gated skips that print their reason, and output collection.
 */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import type { ExecSpec, ProcessExit } from '../../src/domain/process.js';
import type { RuntimeRecord, SandboxSpec } from '../../src/domain/sandbox.js';
import { hasCapability, type Capability, type CapabilityReport } from '../../src/port/capabilities.js';
import type { IsolationBackend, ProcessHandle } from '../../src/port/isolation-backend.js';

export interface ConformanceOptions {
  /** Shown in test names. */
  name: string;
  /** Returns the backend under test (called once). */
  create: () => Promise<IsolationBackend>;
  /** Returns a second, independent handle on the same host, as a restarted server would have. */
  reopen: () => Promise<IsolationBackend>;
  /** Extra spec fields (e.g. a template root) for every sandbox the suite creates. */
  spec?: Partial<SandboxSpec>;
  /**
   * Starts a TCP service on `port` of the sandbox's loopback that answers each connection's first
   * line `x` with `pong x` and then closes it; resolves once it listens. Default: a Perl one-liner
   * run through `exec` (ports.ts). A backend whose exec cannot run Perl (the fake) passes its own.
   */
  startLineService?: (backend: IsolationBackend, sandboxId: string, port: number) => Promise<void>;
}

export interface Suite {
  backend: () => IsolationBackend;
  report: () => CapabilityReport;
  options: ConformanceOptions;
}

export function newSandboxId(): string {
  return `sbx_conf_${randomBytes(5).toString('hex')}`;
}

export function sandboxSpec(suite: Suite, overrides: Partial<SandboxSpec> = {}): SandboxSpec {
  return { id: newSandboxId(), resources: {}, env: {}, network: { mode: 'none' }, ...suite.options.spec, ...overrides };
}

/** Skips the test (printing what is missing) unless the backend reports every capability. */
export function requires(t: TestContext, suite: Suite, ...capabilities: Capability[]): boolean {
  const missing = capabilities.filter((c) => !hasCapability(suite.report(), c));
  if (missing.length === 0) return true;
  t.skip(`${suite.options.name} does not report ${missing.join(', ')}`);
  return false;
}

/** Creates and starts a sandbox, runs `fn`, and destroys it whatever happens. */
export async function withSandbox<T>(
  suite: Suite,
  fn: (id: string, record: RuntimeRecord) => Promise<T>,
  overrides: Partial<SandboxSpec> = {},
): Promise<T> {
  const backend = suite.backend();
  const spec = sandboxSpec(suite, overrides);
  await backend.create(spec);
  try {
    const record = await backend.start(spec.id);
    return await fn(spec.id, record);
  } finally {
    await backend.destroy(spec.id).catch(() => undefined);
  }
}

export interface Collected {
  stdout: string;
  stderr: string;
  exit: ProcessExit;
  seqs: number[];
}

/** Reads a process's whole output and waits for its exit. */
export async function collect(handle: ProcessHandle): Promise<Collected> {
  let stdout = '';
  let stderr = '';
  const seqs: number[] = [];
  for await (const chunk of handle.output()) {
    seqs.push(chunk.seq);
    const text = Buffer.from(chunk.data).toString();
    if (chunk.stream === 'stderr') stderr += text;
    else stdout += text;
  }
  return { stdout, stderr, exit: await handle.wait(), seqs };
}

export async function run(suite: Suite, id: string, spec: ExecSpec): Promise<Collected> {
  return collect(await suite.backend().exec(id, spec));
}

export async function readAll(iterable: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of iterable) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

/** Resolves once `predicate` holds, polling `probe`; rejects after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T>, predicate: (v: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (predicate(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
