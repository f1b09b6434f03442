/**
 * Hutch's typed errors. Each class carries a stable `code` from @hutch/protocol; the server maps it to
 * HTTP through the one status table. Messages say what happened and what to do, and never carry
 * secrets or host paths.
 */
import type { ErrorCode } from '@hutch/protocol';

/** Base class of every error Hutch raises on purpose. */
export class HutchError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** The request itself is malformed or inconsistent. */
export class BadRequestError extends HutchError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('bad_request', message, details);
  }
}

/** No sandbox with this id exists (or it was destroyed and its tombstone expired). */
export class SandboxNotFoundError extends HutchError {
  constructor(sandboxId: string) {
    super('sandbox_not_found', `Sandbox ${sandboxId} was not found. List sandboxes to see the ones that exist.`, { sandboxId });
  }
}

/** No process with this pid or tag in the sandbox. */
export class ProcessNotFoundError extends HutchError {
  constructor(sandboxId: string, pid: number | string) {
    super('process_not_found', `Process ${pid} was not found in sandbox ${sandboxId}.`, { sandboxId, pid });
  }
}

/** No shell session with this id in the sandbox. */
export class SessionNotFoundError extends HutchError {
  constructor(sandboxId: string, sessionId: string) {
    super('session_not_found', `Session ${sessionId} was not found in sandbox ${sandboxId}.`, { sandboxId, sessionId });
  }
}

/** No snapshot with this id. */
export class SnapshotNotFoundError extends HutchError {
  constructor(snapshotId: string) {
    super('snapshot_not_found', `Snapshot ${snapshotId} was not found.`, { snapshotId });
  }
}

/** A path inside the sandbox does not exist. `path` is the sandbox-relative path the caller gave. */
export class FileNotFoundError extends HutchError {
  constructor(path: string) {
    super('file_not_found', `No file or directory at ${path} in the sandbox.`, { path });
  }
}

/** The sandbox is in a state where the operation is not allowed. */
export class InvalidTransitionError extends HutchError {
  readonly from: string;
  readonly to: string;
  constructor(from: string, to: string, operation?: string) {
    super(
      'invalid_transition',
      `Cannot ${operation ?? `move to ${to}`}: the sandbox is ${from}.`,
      { from, to, ...(operation ? { operation } : {}) },
    );
    this.from = from;
    this.to = to;
  }
}

/** A name, id or file already exists where the caller asked to create one. */
export class AlreadyExistsError extends HutchError {
  constructor(what: string, details?: Record<string, unknown>) {
    super('already_exists', `${what} already exists.`, details);
  }
}

/** Admission refused the request: a limit (count, cpu, memory, disk) would be exceeded. */
export class CapacityRejectedError extends HutchError {
  constructor(reason: string, details?: Record<string, unknown>) {
    super('capacity_rejected', `Capacity rejected: ${reason}. Destroy idle sandboxes or raise the server's limits.`, details);
  }
}

/** The request needs a capability the selected backend does not offer. Fails closed, never downgrades. */
export class CapabilityMissingError extends HutchError {
  readonly capability: string;
  constructor(capability: string, backend: string, why: string) {
    super(
      'capability_missing',
      `The ${backend} backend lacks the capability "${capability}" needed to ${why}. Use a backend that reports it, or drop that part of the request.`,
      { capability, backend },
    );
    this.capability = capability;
  }
}

/** The backend cannot run on this host; `missing` names the absent prerequisites. */
export class UnsupportedHostError extends HutchError {
  constructor(backend: string, missing: string[]) {
    super('unsupported_host', `The ${backend} backend cannot run on this host: missing ${missing.join(', ')}.`, { backend, missing });
  }
}

/** A path given to the files API would leave the sandbox (`..`, absolute host path, symlink escape). */
export class PathEscapeError extends HutchError {
  constructor(path: string) {
    super('path_escape', `The path ${path} leaves the sandbox and was refused. Use a path inside the sandbox.`, { path });
  }
}

/** A one-shot command ran past its timeout and was killed. Its partial output is in `details`. */
export class ProcessTimeoutError extends HutchError {
  constructor(timeoutMs: number, details?: Record<string, unknown>) {
    super('process_timeout', `The command did not finish within ${timeoutMs} ms and was killed. Raise timeoutMs or run it in the background.`, { timeoutMs, ...details });
  }
}

/** The isolation mechanism failed (spawn error, runtime exit status). The message is redacted. */
export class BackendFailureError extends HutchError {
  constructor(message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super('backend_failure', message, details, options);
  }
}

/** A side effect's outcome is unknown (crash, lost result); an operator or reclaim must repair it. */
export class RepairNeededError extends HutchError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('repair_needed', message, details);
  }
}

/** The journal could not record an intent, so the side effect was not attempted. */
export class JournalUnavailableError extends HutchError {
  constructor(options?: { cause?: unknown }) {
    super('journal_unavailable', 'The journal could not record the operation, so it was not attempted. Check the data directory (disk full, permissions) and retry.', undefined, options);
  }
}

/** A request conflicts with the current state (e.g. an idempotency key reused with another body). */
export class ConflictError extends HutchError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('conflict', message, details);
  }
}

/** A template's ready command did not exit 0 within its timeout; the sandbox was not created. */
export class TemplateNotReadyError extends HutchError {
  constructor(template: string, timeoutMs: number, lastExitCode: number | null) {
    super('template_not_ready', `The ready command of template "${template}" did not succeed within ${timeoutMs} ms (last exit code ${lastExitCode ?? 'none'}). Check the template's start and ready commands.`, { template, timeoutMs, lastExitCode });
  }
}

/** Nothing listens on this TCP port inside the sandbox (the port proxy answers 502). */
export class PortNotOpenError extends HutchError {
  constructor(sandboxId: string, port: number) {
    super('not_found', `Nothing listens on port ${port} in sandbox ${sandboxId}. Start the service inside the sandbox first.`, { sandboxId, port });
  }
}

/** Something other than a sandbox, process, session, snapshot or template was not found (a checkpoint, a sandbox's workspace). */
export class NotFoundError extends HutchError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('not_found', message, details);
  }
}
