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
