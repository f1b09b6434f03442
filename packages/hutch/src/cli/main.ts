#!/usr/bin/env node
/**
 * The `hutch` command line: `serve` runs the server; every other command talks to a server only
 * through @hutch/sdk (`--url` / HUTCH_API_URL, `--api-key` / HUTCH_API_KEY). Failures print
 * `error: <message> (<code>)` and exit 1; usage errors exit 2.
 */
import { Command, CommanderError } from 'commander';
import { registerCodebaseCommands } from './commands/codebase.js';
import { registerCpCommand } from './commands/cp.js';
import { registerEventCommands } from './commands/events.js';
import { registerNetworkCommands } from './commands/network.js';
import { registerExecCommands } from './commands/exec.js';
import { registerSandboxCommands } from './commands/sandboxes.js';
import { registerServeCommand } from './commands/serve.js';
import { registerShellCommand } from './commands/shell.js';
import { registerSnapshotCommands } from './commands/snapshot.js';
import { registerTemplateCommands } from './commands/template.js';
import { registerWorkspaceCommands } from './commands/workspace.js';
import { EXIT_USAGE, reportError } from './errors.js';

/** Version printed by `hutch --version`. */
export const CLI_VERSION = '0.1.0';

/** Builds the program with every command registered (parsing is the caller's). */
export function buildProgram(): Command {
  const program = new Command('hutch')
    .description('Hutch: self-hosted sandboxes for AI agents')
    .version(CLI_VERSION)
    .option('--url <url>', 'server URL (default $HUTCH_API_URL or http://127.0.0.1:7410)')
    .option('--api-key <key>', 'API key (default $HUTCH_API_KEY)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerServeCommand(program);
  registerSandboxCommands(program);
  registerExecCommands(program);
  registerShellCommand(program);
  registerCpCommand(program);
  registerEventCommands(program);
  registerNetworkCommands(program);
  registerSnapshotCommands(program);
  registerTemplateCommands(program);
  registerCodebaseCommands(program);
  registerWorkspaceCommands(program);
  return program;
}

/** Runs the CLI on `argv` and returns the exit status. */
export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    // Commander has already printed its message; help and --version end with exit code 0.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE;
    return reportError(err);
  }
}

process.exitCode = await runCli(process.argv);
