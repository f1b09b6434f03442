/**
 * Process commands: `exec` (run a command, stream its output live, exit with its code) and `ps`.
 */
import { TimeoutError, type Command as SandboxCommand, type CommandFrame, type CommandOptions, type ProcessInfo, type Sandbox } from '@hutch/sdk';
import type { Command } from 'commander';
import { openSandbox } from '../context.js';
import { InterruptedError } from '../errors.js';
import { formatAge, printJson, printTable, writeAll } from '../output.js';
import { collectKeyValue, parseDurationMs } from '../parse.js';

/** Exit status when the command ran past `--timeout` (the convention of coreutils `timeout`). */
const EXIT_TIMEOUT = 124;

interface ExecFlags {
  cwd?: string;
  env?: Record<string, string>;
  timeout?: number;
  user?: string;
  tag?: string;
  interactive?: boolean;
}

export function registerExecCommands(program: Command): void {
  program
    .command('exec')
    .description('run a command in a sandbox, streaming its output; exits with its exit code')
    .argument('<id>', 'sandbox id')
    .argument('<command...>', 'the command (after --); one argument runs through the shell, several run as argv')
    .option('-C, --cwd <dir>', 'working directory')
    .option('-e, --env <KEY=VALUE>', 'environment variable (repeatable)', collectKeyValue)
    .option('--timeout <duration>', 'kill the command after this long (30s, 5m)', parseDurationMs)
    .option('-u, --user <user>', 'run as this user')
    .option('--tag <tag>', 'label shown by `hutch ps`')
    .option('-i, --interactive', "forward this terminal's stdin to the command (until EOF)")
    .usage('[options] <id> -- <command...>')
    .action(async (id: string, words: string[], flags: ExecFlags, command: Command) => {
      process.exitCode = await execCommand(command, id, words, flags);
    });

  program
    .command('ps')
    .description('list the processes of a sandbox')
    .argument('<id>', 'sandbox id')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: { json?: boolean }, command: Command) => {
      const sandbox = await openSandbox(command, id);
      const processes = await sandbox.commands.list();
      if (flags.json) return printJson(processes);
      const now = new Date();
      printTable(
        ['PID', 'STATUS', 'AGE', 'TAG', 'COMMAND'],
        processes.map((p) => [String(p.pid), status(p), formatAge(p.startedAt, now), p.tag ?? '-', [p.cmd, ...p.args].join(' ')]),
      );
    });
}

async function execCommand(command: Command, id: string, words: string[], flags: ExecFlags): Promise<number> {
  const sandbox = await openSandbox(command, id);
  const options: CommandOptions = {};
  if (flags.cwd) options.cwd = flags.cwd;
  if (flags.env) options.env = flags.env;
  if (flags.timeout !== undefined) options.timeoutMs = flags.timeout;
  if (flags.user) options.user = flags.user;
  if (flags.tag) options.tag = flags.tag;
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort(new InterruptedError());
  process.once('SIGINT', onSigint);
  try {
    const target = words.length === 1 ? words[0]! : words;
    const frames = flags.interactive ? await withStdin(sandbox, target, options, interrupt.signal) : sandbox.commands.stream(target, { ...options, signal: interrupt.signal });
    for await (const frame of frames) {
      if (frame.type === 'output') await writeAll(frame.stream === 'stderr' ? process.stderr : process.stdout, frame.data);
      else if (frame.type === 'exit') {
        if (frame.reason === 'timeout') throw new TimeoutError('process_timeout', `the command timed out after ${flags.timeout ?? 0} ms`, 408);
        return exitStatus(frame);
      }
    }
    return 1;
  } catch (err) {
    if (interrupt.signal.aborted) throw interrupt.signal.reason;
    if (err instanceof TimeoutError) {
      process.stderr.write(`error: ${err.message} (${err.code})\n`);
      return EXIT_TIMEOUT;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** Starts the command in the background with stdin open, and pumps this process's stdin into it. */
async function withStdin(sandbox: Sandbox, target: SandboxCommand, options: CommandOptions, signal: AbortSignal): Promise<AsyncIterable<CommandFrame>> {
  const handle = await sandbox.commands.run(target, { ...options, background: true, keepStdinOpen: true });
  signal.addEventListener('abort', () => handle.disconnect(), { once: true });
  const pump = (async () => {
    for await (const chunk of process.stdin as AsyncIterable<Uint8Array>) await handle.sendStdin(chunk, { signal });
    await handle.closeStdin({ signal });
  })();
  // A command that exits before reading all its input makes the pump fail; that is its business.
  pump.catch(() => undefined);
  return handle;
}

/** The shell's convention: the exit code, or 128 + the signal number. */
export function exitStatus(exit: { exitCode: number | null; signal: string | null }): number {
  if (exit.exitCode !== null && exit.exitCode >= 0) return exit.exitCode & 0xff;
  const numbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };
  const n = exit.signal ? numbers[exit.signal] : undefined;
  return n === undefined ? 1 : 128 + n;
}

function status(p: ProcessInfo): string {
  if (p.running) return 'running';
  if (!p.exit) return 'unknown';
  if (p.exit.reason === 'exited') return `exited ${p.exit.exitCode ?? ''}`.trim();
  return p.exit.signal ? `${p.exit.reason} (${p.exit.signal})` : p.exit.reason;
}
