/**
 * The tiers under test. For each backend this machine supports, one engine (with the template
 * store) and — when the server module is present — the HTTP server started in-process on
 * 127.0.0.1:0 over that same engine, so the engine and HTTP+SDK paths share one data directory.
 *
 * Every backend is wrapped in a timing proxy that records how long each backend call takes and
 * which sandbox ids were created, so the harness can (a) split a create into engine overhead and
 * backend time and (b) check afterwards that nothing of those ids is left on the host.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine } from '../src/engine/engine.js';
import { createMicrovmBackend } from '../src/backends/microvm/index.js';
import { createProcessBackend } from '../src/backends/process/index.js';
import type { IsolationBackend } from '../src/port/isolation-backend.js';
import { BackendRegistry } from '../src/port/registry.js';
import { TemplateStore } from '../src/templates/store.js';
import type { BenchLog } from './log.js';
import { nowMs, Samples } from './stats.js';

/** Backend calls that are timed by the proxy. */
const TIMED = new Set(['create', 'start', 'destroy', 'exec', 'snapshot', 'restore', 'adopt', 'reclaim']);

export interface TimedBackend {
  backend: IsolationBackend;
  samples: Samples;
  /** Every sandbox id handed to create or restore. */
  ids: Set<string>;
  /** Only record timings while true (other scenarios would mix into the series). */
  recording: { on: boolean };
}

export function timeBackend(inner: IsolationBackend): TimedBackend {
  const samples = new Samples();
  const ids = new Set<string>();
  const recording = { on: false };
  const backend = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== 'string' || typeof value !== 'function' || !TIMED.has(prop)) return value;
      return async (...args: unknown[]) => {
        if (prop === 'create') ids.add((args[0] as { id: string }).id);
        if (prop === 'restore') ids.add((args[1] as { id: string }).id);
        const t0 = nowMs();
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        if (recording.on) samples.add(prop, nowMs() - t0);
        return result;
      };
    },
  });
  return { backend, samples, ids, recording };
}

export interface HttpEndpoint {
  url: string;
  apiKey: string;
}

export interface Tier {
  /** `process` or `container`. */
  name: string;
  engine: Engine;
  http: HttpEndpoint | undefined;
  /** Why the HTTP path is absent, when it is. */
  httpSkip: string | undefined;
  timed: TimedBackend;
  /** The backend's data dir (leak checks look for it in process args, mounts and dirs). */
  backendDir: string;
  /** Subdirectories of `backendDir` holding one entry per sandbox (or snapshot): must be empty after cleanup. */
  instanceDirs: string[];
  templates: TemplateStore;
  /** What every scenario's create asks for on this tier (the container tier needs a template). */
  request: { template?: string };
  /** Stops the server and the engine (sandboxes must be destroyed before). */
  close(): Promise<void>;
}

interface ServerModule {
  serve(options: Record<string, unknown>): Promise<{ url: string; engine: Engine; close(): Promise<void> }>;
}

/** The server module, or why it cannot be used (absent, or failing to load mid-refactor). */
async function loadServer(): Promise<ServerModule | string> {
  const path = fileURLToPath(new URL('../src/server/index.js', import.meta.url));
  if (!existsSync(path)) return 'packages/hutch/src/server/index.ts is not there yet';
  try {
    return (await import(path)) as ServerModule;
  } catch (err) {
    return `the server module failed to load: ${(err as Error).message}`;
  }
}

export interface TierOptions {
  root: string;
  /** Template every create of this tier uses (resolved, i.e. restored or built, at open). */
  template?: string;
  /** Admission limit on live sandboxes (density needs more than the default 500). */
  maxSandboxes: number;
  log: BenchLog;
  /** See `Tier.instanceDirs`. @default ['sandboxes'] */
  instanceDirs?: string[];
}

/** Opens a tier over `backend`: engine + template store, and the HTTP server when available. */
export async function openTier(name: string, inner: IsolationBackend, backendDir: string, options: TierOptions): Promise<Tier> {
  const timed = timeBackend(inner);
  const registry = new BackendRegistry().register(timed.backend);
  const engineDir = join(options.root, `${name}-engine`);
  const templates = new TemplateStore({ dataDir: join(options.root, `${name}-templates`), log: (line) => options.log.detail(line) });
  await mkdir(join(options.root, `${name}-templates`), { recursive: true, mode: 0o711 });
  const engineOptions = { templates, defaultTimeoutMs: 3_600_000 };
  const limits = { maxSandboxes: options.maxSandboxes, memoryBudgetMib: 1 << 30, cpuBudget: 1 << 20 };
  const request = options.template ? { template: options.template } : {};
  const instanceDirs = options.instanceDirs ?? ['sandboxes'];
  if (options.template) {
    options.log.step(`${name}: preparing template ${options.template} (machine cache or debootstrap)`);
    await templates.resolve(options.template);
  }
  const server = await loadServer();
  if (typeof server !== 'string') {
    const apiKey = `hutch_${randomBytes(32).toString('hex')}`;
    const running = await server.serve({ registry, dataDir: engineDir, host: '127.0.0.1', port: 0, apiKey, limits, engine: engineOptions, quiet: true, handleSignals: false, print: () => undefined });
    return { name, engine: running.engine, http: { url: running.url, apiKey }, httpSkip: undefined, timed, backendDir, instanceDirs, templates, request, close: () => running.close() };
  }
  const engine = await Engine.open({ dataDir: engineDir, registry, limits, ...engineOptions });
  return { name, engine, http: undefined, httpSkip: server, timed, backendDir, instanceDirs, templates, request, close: () => engine.close() };
}

/** The process tier, when the host has what it needs. */
export async function processBackend(root: string): Promise<{ backend: IsolationBackend; dir: string } | { skip: string }> {
  const dir = join(root, 'process');
  await mkdir(dir, { recursive: true, mode: 0o711 });
  await chmod(dir, 0o711);
  const backend = createProcessBackend({ dataDir: dir });
  const report = await backend.capabilities();
  if (report.health.status !== 'healthy') {
    return { skip: report.health.status === 'unsupported_host' ? `process tier unsupported: missing ${report.health.missing.join(', ')}` : `process tier degraded: ${report.health.reason}` };
  }
  return { backend, dir };
}

/**
 * The container tier, once `backends/container/index.ts` exists (loaded by path, so this file
 * compiles before it does) and its capability report says healthy.
 */
export async function containerBackend(root: string): Promise<{ backend: IsolationBackend; dir: string } | { skip: string }> {
  const path = fileURLToPath(new URL('../src/backends/container/index.js', import.meta.url));
  if (!existsSync(path)) return { skip: 'backends/container/index.ts does not exist yet' };
  const mod = (await import(path)) as { createContainerBackend?: (options: { dataDir: string }) => IsolationBackend };
  if (typeof mod.createContainerBackend !== 'function') return { skip: 'backends/container/index.ts has no createContainerBackend export' };
  const dir = join(root, 'container');
  await mkdir(dir, { recursive: true, mode: 0o711 });
  let backend: IsolationBackend;
  try {
    backend = mod.createContainerBackend({ dataDir: dir });
  } catch (err) {
    return { skip: `createContainerBackend failed: ${(err as Error).message}` };
  }
  const report = await backend.capabilities().catch((err: Error) => ({ health: { status: 'error', reason: err.message } }) as const);
  const health = report.health as { status: string; missing?: string[]; reason?: string };
  if (health.status !== 'healthy') return { skip: `container tier not healthy (${health.status}: ${health.missing?.join(', ') ?? health.reason ?? ''})` };
  return { backend, dir };
}

/**
 * The microVM tier, with the acceleration it will use (`tcg` or `kvm`). It runs only when
 * HUTCH_MICROVM_ACCEL names an acceleration (`tcg` is the explicit opt-in to emulation) or the
 * host has usable KVM; otherwise the backend reports `unsupported_host` and this returns the skip.
 */
export async function microvmBackend(root: string): Promise<{ backend: IsolationBackend; dir: string; accel: string } | { skip: string }> {
  const dir = join(root, 'microvm');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const backend = createMicrovmBackend({ dataDir: dir });
  const report = await backend.capabilities();
  const health = report.health;
  if (health.status === 'unsupported_host') {
    const opted = process.env.HUTCH_MICROVM_ACCEL ? `HUTCH_MICROVM_ACCEL=${process.env.HUTCH_MICROVM_ACCEL}` : 'HUTCH_MICROVM_ACCEL unset, so KVM only';
    return { skip: `microvm tier unsupported here (${opted}): missing ${health.missing.join('; ')}` };
  }
  if (health.status !== 'healthy') return { skip: `microvm tier not healthy (${health.status}: ${'reason' in health ? health.reason : ''})` };
  return { backend, dir, accel: report.notes.accel ?? 'unknown' };
}
