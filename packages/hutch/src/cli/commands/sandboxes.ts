/**
 * Sandbox lifecycle commands: `create`, `ls`, `info`, `rm`, `pause`, `resume`.
 */
import { Sandbox, type SandboxCreateOptions, type SandboxInfo, type SandboxState } from '@hutch/sdk';
import { Option, type Command } from 'commander';
import { connectionOf } from '../context.js';
import { UsageError } from '../errors.js';
import { formatAge, formatResources, printJson, printTable } from '../output.js';
import { collectKeyValue, parseDurationMs, parseMemoryMib, parsePositiveInt, parsePositiveNumber } from '../parse.js';
import { withSpinner } from '../spinner.js';
import { policyFromFlags, withPolicyFlags } from './network.js';
import { withWorkspaceFlags, workspaceFromFlags, type WorkspaceFlags } from './workspace.js';

const STATES: SandboxState[] = ['creating', 'running', 'paused', 'stopped', 'failed', 'destroyed'];

interface CreateFlags extends WorkspaceFlags {
  template?: string;
  memory?: number;
  cpus?: number;
  pids?: number;
  timeout?: number;
  env?: Record<string, string>;
  metadata?: Record<string, string>;
  internet?: boolean;
  allow?: string[];
  deny?: string[];
  audit?: boolean;
  inject?: string[];
  secretEnv?: string[];
  backend?: string;
  workdir?: string;
  onTimeout?: 'destroy' | 'pause';
  idempotencyKey?: string;
  json?: boolean;
}

export function registerSandboxCommands(program: Command): void {
  withWorkspaceFlags(withPolicyFlags(program
    .command('create')))
    .description('create a sandbox and print its id')
    .option('-t, --template <name>', 'template to start from')
    .option('-m, --memory <size>', 'memory limit (512, 512m, 2g; default unit MiB)', parseMemoryMib)
    .option('--cpus <n>', 'vCPU limit', parsePositiveNumber)
    .option('--pids <n>', 'process count limit', parsePositiveInt)
    .option('--timeout <duration>', 'lifetime before the sandbox is destroyed (30s, 5m, 1h)', parseDurationMs)
    .addOption(new Option('--on-timeout <action>', 'what the deadline does').choices(['destroy', 'pause']))
    .option('-e, --env <KEY=VALUE>', 'environment variable (repeatable)', collectKeyValue)
    .option('-l, --metadata <KEY=VALUE>', 'metadata label (repeatable)', collectKeyValue)
    .option('--internet', 'allow outbound internet access, never the host (default: no network)')
    .option('--secret-env <NAME>', 'secret NAME for --inject, its value read from this environment variable (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('-b, --backend <name>', 'isolation backend (process, fake, …)')
    .option('-w, --workdir <path>', 'default working directory of processes')
    .option('--idempotency-key <key>', 'retry-safe key: the same key returns the same sandbox')
    .option('--json', 'print the created sandbox as JSON (includes its access token)')
    .action(async (flags: CreateFlags, command: Command) => {
      const options = createOptions(flags, command);
      const sandbox = await withSpinner('creating sandbox', () => Sandbox.create(options));
      if (flags.json) printJson({ ...sandbox.info, accessToken: sandbox.accessToken });
      else process.stdout.write(`${sandbox.id}\n`);
    });

  program
    .command('ls')
    .alias('list')
    .description('list sandboxes')
    .option('-s, --state <states>', `only these states, comma-separated (${STATES.join(', ')})`)
    .option('-b, --backend <name>', 'only this backend')
    .option('-l, --metadata <KEY=VALUE>', 'only sandboxes with this label (repeatable)', collectKeyValue)
    .option('-q, --quiet', 'print ids only')
    .option('--json', 'print JSON')
    .action(async (flags: { state?: string; backend?: string; metadata?: Record<string, string>; quiet?: boolean; json?: boolean }, command: Command) => {
      const filters = { ...connectionOf(command), ...(flags.state ? { state: parseStates(flags.state) } : {}), ...(flags.backend ? { backend: flags.backend } : {}), ...(flags.metadata ? { metadata: flags.metadata } : {}) };
      const items: SandboxInfo[] = [];
      for await (const info of Sandbox.listAll(filters)) items.push(info);
      if (flags.json) return printJson(items);
      if (flags.quiet) return void process.stdout.write(items.map((i) => `${i.id}\n`).join(''));
      const now = new Date();
      printTable(
        ['ID', 'STATE', 'BACKEND', 'TEMPLATE', 'AGE', 'RESOURCES'],
        items.map((i) => [i.id, i.state + (i.failureReason ? ` (${i.failureReason})` : ''), i.backend, i.template ?? '-', formatAge(i.createdAt, now), formatResources(i.resources)]),
      );
    });

  program
    .command('info')
    .alias('inspect')
    .description('show one sandbox as JSON')
    .argument('<id>', 'sandbox id')
    .action(async (id: string, _flags: unknown, command: Command) => {
      const sandbox = await Sandbox.connect(id, connectionOf(command));
      printJson(sandbox.info);
    });

  program
    .command('rm')
    .alias('destroy')
    .description('destroy sandboxes')
    .argument('<ids...>', 'sandbox ids')
    .action(async (ids: string[], _flags: unknown, command: Command) => {
      const connection = connectionOf(command);
      let failed: unknown;
      for (const id of ids) {
        try {
          await Sandbox.destroy(id, connection);
          process.stdout.write(`${id}\n`);
        } catch (err) {
          // Keep going so one bad id does not leave the others running; the last failure is reported.
          process.stderr.write(`${id}: ${err instanceof Error ? err.message : String(err)}\n`);
          failed = err;
        }
      }
      if (failed !== undefined) throw failed;
    });

  for (const verb of ['pause', 'resume'] as const) {
    program
      .command(verb)
      .description(verb === 'pause' ? 'pause a running sandbox (processes frozen, files kept)' : 'resume a paused sandbox')
      .argument('<id>', 'sandbox id')
      .option('--json', 'print the sandbox as JSON')
      .action(async (id: string, flags: { json?: boolean }, command: Command) => {
        const sandbox = await Sandbox.connect(id, connectionOf(command));
        const info = await withSpinner(`${verb === 'pause' ? 'pausing' : 'resuming'} ${id}`, () => sandbox[verb]());
        if (flags.json) printJson(info);
        else process.stdout.write(`${info.id} ${info.state}\n`);
      });
  }
}

function createOptions(flags: CreateFlags, command: Command): SandboxCreateOptions {
  const options: SandboxCreateOptions = { ...connectionOf(command) };
  if (flags.template) options.template = flags.template;
  const resources = { ...(flags.cpus !== undefined ? { vcpus: flags.cpus } : {}), ...(flags.memory !== undefined ? { memoryMib: flags.memory } : {}), ...(flags.pids !== undefined ? { pids: flags.pids } : {}) };
  if (Object.keys(resources).length > 0) options.resources = resources;
  if (flags.timeout !== undefined) options.timeoutMs = flags.timeout;
  if (flags.onTimeout) options.onTimeout = flags.onTimeout;
  if (flags.env) options.env = flags.env;
  if (flags.metadata) options.metadata = flags.metadata;
  if (flags.internet || flags.allow || flags.deny || flags.audit || flags.inject) options.network = policyFromFlags(flags);
  if (flags.secretEnv) {
    options.secrets = flags.secretEnv.map((name) => {
      const value = process.env[name];
      if (!value) throw new UsageError(`--secret-env ${name}: the environment variable ${name} is not set`);
      return { name, value };
    });
  }
  if (flags.backend) options.backend = flags.backend;
  if (flags.workdir) options.workdir = flags.workdir;
  if (flags.idempotencyKey) options.idempotencyKey = flags.idempotencyKey;
  const workspace = workspaceFromFlags(flags);
  if (workspace) options.workspace = workspace;
  return options;
}

function parseStates(text: string): SandboxState[] {
  const states = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of states) if (!STATES.includes(s as SandboxState)) throw new UsageError(`unknown state "${s}" (states: ${STATES.join(', ')})`);
  return states as SandboxState[];
}
