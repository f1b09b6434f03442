/**
 * `hutch serve`: run the Hutch server in this process. Builds the backend registry (the process
 * tier by default; the in-memory fake only when asked with `--backend fake` or HUTCH_BACKENDS) and
 * hands it to the server module, which opens the engine under the data directory.
 */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { createFakeBackend } from '../../backends/fake/index.js';
import { defaultDataDir } from '../../server/data-dir.js';
import { TemplateStore } from '../../templates/store.js';
import { createWorkspaceProvider } from '../../workspaces/index.js';
import { BackendRegistry } from '../../port/registry.js';
import type { IsolationBackend } from '../../port/isolation-backend.js';
import { UsageError } from '../errors.js';
import { parsePositiveInt } from '../parse.js';

/** Backends `serve` knows how to build. */
const KNOWN_BACKENDS = ['process', 'container', 'microvm', 'fake'] as const;
const DEFAULT_PORT = 7410;
/** Tiers with no host-root mode run the `base` template when a create names none. */
const DEFAULT_TEMPLATES = { container: 'base', microvm: 'base' };

interface ServeFlags {
  host: string;
  port: number;
  dataDir?: string;
  backend?: string;
  processDir?: string;
  resetApiKey?: boolean;
  quiet?: boolean;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the Hutch server (REST API, streams, console) on this machine')
    .option('-H, --host <host>', 'address to listen on', process.env.HUTCH_HOST ?? '127.0.0.1')
    .option('-p, --port <port>', `port to listen on (0 picks a free one)`, parsePort, process.env.HUTCH_PORT ? parsePort(process.env.HUTCH_PORT) : DEFAULT_PORT)
    .option('-d, --data-dir <dir>', 'where state lives (default $HUTCH_DATA_DIR, else /var/lib/hutch as root, else ~/.hutch)')
    .option('-b, --backend <names>', `backends to enable, comma-separated, the first is the default (${KNOWN_BACKENDS.join(', ')}; default $HUTCH_BACKENDS or process)`)
    .option('--process-dir <dir>', 'where the process tier keeps sandboxes (default $HUTCH_PROCESS_DIR or <data dir>/process); every parent must be o+x')
    .option('--reset-api-key', 'replace the stored API key with a new one (printed once)')
    .option('-q, --quiet', 'no logs and no banner')
    .action(async (flags: ServeFlags) => {
      const dataDir = resolve(flags.dataDir ?? defaultDataDir());
      const names = backendNames(flags.backend ?? process.env.HUTCH_BACKENDS ?? 'process');
      const processDir = resolve(flags.processDir ?? process.env.HUTCH_PROCESS_DIR ?? join(dataDir, 'process'));
      const registry = await buildRegistry(names, { dataDir, processDir });
      const templates = new TemplateStore({ dataDir, log: flags.quiet ? undefined : (line) => process.stderr.write(`template: ${line}\n`) });
      // Loaded on demand so client commands start fast and do not load the server's dependencies.
      const server = await import('../../server/index.js');
      const running = await server.serve({
        dataDir,
        host: flags.host,
        port: flags.port,
        registry,
        engine: { templates, defaultTemplates: DEFAULT_TEMPLATES, workspaces: createWorkspaceProvider(dataDir) },
        ...(flags.resetApiKey ? { resetApiKey: true } : {}),
        ...(flags.quiet ? { quiet: true } : {}),
      });
      // Template roots no sandbox, pool or snapshot needs any more are removed hourly.
      setInterval(() => void templates.gc(running.engine.templateNamesInUse()).catch(() => undefined), 3600_000).unref();
    });
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`invalid port "${text}"`);
  return port;
}

/** Splits and checks the `--backend` list (order kept, duplicates dropped). */
export function backendNames(text: string): string[] {
  const names = [...new Set(text.split(',').map((s) => s.trim()).filter(Boolean))];
  if (names.length === 0) throw new UsageError('--backend needs at least one backend name');
  for (const name of names) if (!(KNOWN_BACKENDS as readonly string[]).includes(name)) throw new UsageError(`unknown backend "${name}" (known: ${KNOWN_BACKENDS.join(', ')})`);
  return names;
}

async function buildRegistry(names: string[], dirs: { dataDir: string; processDir: string }): Promise<BackendRegistry> {
  const registry = new BackendRegistry();
  for (const name of names) {
    const backend = await makeBackend(name, dirs);
    registry.register(backend, { asDefault: registry.names().length === 0 });
    await warnIfUnhealthy(backend);
  }
  return registry;
}

async function makeBackend(name: string, dirs: { dataDir: string; processDir: string }): Promise<IsolationBackend> {
  switch (name) {
    case 'fake':
      return createFakeBackend();
    case 'microvm': {
      // Acceleration from HUTCH_MICROVM_ACCEL: `tcg` is the explicit opt-in to emulation.
      const { createMicrovmBackend } = await import('../../backends/microvm/index.js');
      return createMicrovmBackend({ dataDir: join(dirs.dataDir, 'microvm') });
    }
    case 'container': {
      const { createContainerBackend } = await import('../../backends/container/index.js');
      return createContainerBackend({ dataDir: join(dirs.dataDir, 'container') });
    }
    default: {
      const { createProcessBackend } = await import('../../backends/process/index.js');
      return createProcessBackend({ dataDir: dirs.processDir });
    }
  }
}

async function warnIfUnhealthy(backend: IsolationBackend): Promise<void> {
  const report = await backend.capabilities();
  if (report.health.status === 'unsupported_host') {
    process.stderr.write(`warning: backend "${backend.name}" cannot run on this host; missing: ${report.health.missing.join(', ')}\n`);
  } else if (report.health.status === 'degraded') {
    process.stderr.write(`warning: backend "${backend.name}" is degraded: ${report.health.reason}\n`);
  }
}
