/**
 * What every client command needs: the connection settings from the global options (`--url`,
 * `--api-key`; the SDK falls back to HUTCH_API_URL / HUTCH_API_KEY), and a connected sandbox.
 */
import { Sandbox, type ConnectionOptions } from '@hutch/sdk';
import type { Command } from 'commander';

/** The global options, as commander parsed them. */
export interface GlobalOptions {
  url?: string;
  apiKey?: string;
}

/** Connection options for the SDK from a command's global options. */
export function connectionOf(command: Command): ConnectionOptions {
  const globals = command.optsWithGlobals<GlobalOptions>();
  const options: ConnectionOptions = {};
  if (globals.url) options.apiUrl = globals.url;
  if (globals.apiKey) options.apiKey = globals.apiKey;
  return options;
}

/** Attaches to a sandbox (fails with `sandbox_not_found` for an unknown id). */
export async function openSandbox(command: Command, sandboxId: string): Promise<Sandbox> {
  return Sandbox.connect(sandboxId, connectionOf(command));
}

/**
 * Adds `rm` (alias `delete`) to a command group: deletes each named item in order through
 * `remove`, printing each one's name once it is gone; the first failure stops the command.
 */
export function addDeleteCommand(group: Command, what: { description: string; argument: string; argumentHelp: string }, remove: (name: string, connection: ConnectionOptions) => Promise<unknown>): void {
  group
    .command('rm')
    .alias('delete')
    .description(what.description)
    .argument(what.argument, what.argumentHelp)
    .action(async (names: string[], _flags: unknown, command: Command) => {
      for (const name of names) {
        await remove(name, connectionOf(command));
        process.stdout.write(`${name}\n`);
      }
    });
}
