/**
 * How the CLI reports failures: `error: <message> (<code>)` on stderr, exit 1; usage errors exit 2;
 * an unreachable server gets a hint on how to start one.
 */
import { ConnectionError, HutchApiError, HutchClientError } from '@hutch/sdk';
import { HutchError } from '../domain/errors.js';

/** Exit status of a failed command. */
export const EXIT_FAILURE = 1;
/** Exit status of a command line the CLI cannot understand. */
export const EXIT_USAGE = 2;

/** A mistake in the command line (bad flag value, malformed `K=V`): exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The user pressed Ctrl-C: exit 130 without a message. */
export class InterruptedError extends Error {
  constructor() {
    super('interrupted');
    this.name = 'InterruptedError';
  }
}

/** Exit status after Ctrl-C (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

/** Prints `err` for a person and returns the exit status to use. */
export function reportError(err: unknown): number {
  if (err instanceof InterruptedError) return EXIT_INTERRUPTED;
  if (err instanceof UsageError) {
    process.stderr.write(`error: ${err.message}\n(run with --help for usage)\n`);
    return EXIT_USAGE;
  }
  if (err instanceof HutchApiError || err instanceof HutchClientError) {
    process.stderr.write(`error: ${err.message} (${err.code})\n`);
    if (err instanceof ConnectionError) {
      process.stderr.write('hint: start a server with `hutch serve` (or `scripts/run.sh` in the repository), or point --url / HUTCH_API_URL at a running one.\n');
    } else if (err instanceof HutchApiError && err.code === 'unauthorized') {
      process.stderr.write('hint: pass the API key the server printed on first start with --api-key or HUTCH_API_KEY.\n');
    }
    return EXIT_FAILURE;
  }
  // Local commands (`template import`, `codebase add --local`) throw the server's own errors.
  if (err instanceof HutchError) {
    process.stderr.write(`error: ${err.message} (${err.code})\n`);
    return EXIT_FAILURE;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`error: ${message}\n`);
  if (process.env.HUTCH_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return EXIT_FAILURE;
}
