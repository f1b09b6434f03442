/**
 * `hutch events <id>` (lifecycle events, JSON lines or text) and `hutch logs <id> [pid]` (the
 * events as a readable log, or a process's output replayed from the start), `--follow` for live.
 */
import type { SandboxEvent } from '@hutch/sdk';
import type { Command } from 'commander';
import { openSandbox } from '../context.js';
import { InterruptedError } from '../errors.js';
import { printJson, writeAll } from '../output.js';
import { parsePositiveInt } from '../parse.js';
import { exitStatus } from './exec.js';

export function registerEventCommands(program: Command): void {
  program
    .command('events')
    .description('show the lifecycle events of a sandbox')
    .argument('<id>', 'sandbox id')
    .option('-f, --follow', 'keep printing events as they happen')
    .option('--after <seq>', 'only events after this sequence number', parsePositiveInt)
    .option('--json', 'print JSON (an array; with --follow one object per line)')
    .action(async (id: string, flags: { follow?: boolean; after?: number; json?: boolean }, command: Command) => {
      const sandbox = await openSandbox(command, id);
      const after = flags.after !== undefined ? { after: flags.after } : {};
      if (!flags.follow) {
        const events = await sandbox.events(after);
        if (flags.json) return printJson(events);
        for (const event of events) process.stdout.write(`${formatEvent(event)}\n`);
        return;
      }
      for await (const event of sandbox.followEvents({ ...after, signal: interruptSignal() })) {
        await writeAll(process.stdout, `${flags.json ? JSON.stringify(event) : formatEvent(event)}\n`);
      }
    });

  program
    .command('logs')
    .description("show a sandbox's log (its events), or with a pid the output of that process")
    .argument('<id>', 'sandbox id')
    .argument('[pid]', 'process id (see `hutch ps`)', parsePositiveInt)
    .option('-f, --follow', 'keep printing as it happens (a process: until it exits)')
    .action(async (id: string, pid: number | undefined, flags: { follow?: boolean }, command: Command) => {
      const sandbox = await openSandbox(command, id);
      if (pid === undefined) {
        const stream = flags.follow ? sandbox.followEvents({ signal: interruptSignal() }) : await sandbox.events();
        for await (const event of stream) await writeAll(process.stdout, `${formatEvent(event)}\n`);
        return;
      }
      const info = await sandbox.commands.get(pid);
      if (info.running && !flags.follow) process.stderr.write(`(pid ${pid} is still running; printing its output until it exits — Ctrl-C to stop)\n`);
      const handle = await sandbox.commands.connect(pid);
      const signal = interruptSignal();
      signal.addEventListener('abort', () => handle.disconnect(), { once: true });
      try {
        for await (const frame of handle) {
          if (frame.type === 'output') await writeAll(frame.stream === 'stderr' ? process.stderr : process.stdout, frame.data);
          else if (frame.type === 'exit') process.exitCode = exitStatus(frame);
        }
      } catch (err) {
        throw signal.aborted ? signal.reason : err;
      }
    });
}

/** `2025-01-01T00:00:00.000Z  #12 sandbox.paused  {…}` */
export function formatEvent(event: SandboxEvent): string {
  const data = Object.keys(event.data).length > 0 ? `  ${JSON.stringify(event.data)}` : '';
  return `${event.at}  #${event.seq} ${event.type}${data}`;
}

/** A signal aborted by Ctrl-C (reason `InterruptedError`), so following loops end cleanly. */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new InterruptedError()));
  return controller.signal;
}
