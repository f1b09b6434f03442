/**
 * Host and guest failures of the microVM tier → Hutch errors: a host tool's exit status, and the
 * guest agent's errno replies for the files API. Messages name the sandbox path the caller gave,
 * never a host path.
 */
import { spawn } from 'node:child_process';
import { AlreadyExistsError, BackendFailureError, BadRequestError, FileNotFoundError, HutchError, PortNotOpenError } from '../../domain/errors.js';
import { AgentRequestError } from './agent-channel.js';

/** Runs a host tool; resolves with its stdout, throws `BackendFailureError` (tool name + status) on failure. */
export function runTool(argv: string[], options: { cwd?: string; stdin?: NodeJS.ReadableStream } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd, stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    if (options.stdin) options.stdin.pipe(child.stdin!);
    child.once('error', (err) => reject(new BackendFailureError(`The host tool ${toolName(argv[0]!)} could not be run.`, { tool: toolName(argv[0]!) }, { cause: err })));
    child.once('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new BackendFailureError(`The host tool ${toolName(argv[0]!)} failed (exit ${code}).`, { tool: toolName(argv[0]!), exitCode: code }, { cause: new Error(stderr) }));
    });
  });
}

function toolName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Translates an agent files error on `sandboxPath` into a Hutch error (HutchErrors pass through). */
export function guestFileError(err: unknown, sandboxPath: string): HutchError {
  if (err instanceof HutchError) return err;
  if (!(err instanceof AgentRequestError)) return new BackendFailureError(`The files operation on ${sandboxPath} failed.`, { path: sandboxPath }, { cause: err });
  switch (err.errno) {
    case 'ENOENT':
      return new FileNotFoundError(sandboxPath);
    case 'EEXIST':
      return new AlreadyExistsError(sandboxPath, { path: sandboxPath });
    case 'ENOTEMPTY':
      return new BadRequestError(`${sandboxPath} is a non-empty directory; pass recursive to remove it.`, { path: sandboxPath });
    case 'EISDIR':
      return new BadRequestError(`${sandboxPath} is a directory, not a file.`, { path: sandboxPath });
    case 'ENOTDIR':
      return new BadRequestError(`A component of ${sandboxPath} is not a directory.`, { path: sandboxPath });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new BadRequestError(`${sandboxPath} cannot be written in the sandbox (${err.errno}).`, { path: sandboxPath });
    case 'ENOSPC':
      return new BadRequestError(`No space left for ${sandboxPath} in the sandbox.`, { path: sandboxPath });
    default:
      return new BackendFailureError(`The files operation on ${sandboxPath} failed (${err.errno}).`, { path: sandboxPath }, { cause: err });
  }
}

/** Translates an agent error while starting a process. */
export function guestExecError(err: unknown): HutchError {
  if (err instanceof HutchError) return err;
  if (err instanceof AgentRequestError) {
    if (err.errno === 'EINVAL') return new BadRequestError(`The command could not be started: ${err.message}.`);
    if (err.errno === 'ENOENT' || err.errno === 'ENOTDIR') return new BadRequestError('The working directory does not exist in the sandbox.');
  }
  return new BackendFailureError('The command could not be started in the VM.', undefined, { cause: err });
}

/**
 * Translates an agent error while connecting to `port` in the guest: nothing listening (refused, or
 * no such loopback address) → `PortNotOpenError`; anything else (including an agent that predates
 * port forwarding, which answers `EINVAL`) → `BackendFailureError`. HutchErrors pass through.
 */
export function guestPortError(err: unknown, sandboxId: string, port: number): HutchError {
  if (err instanceof HutchError) return err;
  if (err instanceof AgentRequestError && (err.errno === 'ECONNREFUSED' || err.errno === 'EADDRNOTAVAIL')) return new PortNotOpenError(sandboxId, port);
  return new BackendFailureError(`Could not open a connection to port ${port} in the sandbox.`, { sandboxId, port }, { cause: err });
}
