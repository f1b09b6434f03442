/**
 * Host failures of the container tier → Hutch errors. File errors and failed host commands use the
 * shared translations (host/host-errors.ts); runtime (crun/runc) failures keep the last lines of
 * its stderr with host paths of the data dir replaced.
 */
import { commandFailed } from '../../host/host-errors.js';

export { commandFailed, errnoOf, fileError, readOnlyError } from '../../host/host-errors.js';

/** A runtime call failed: exit status and a redacted stderr tail. */
export function runtimeFailed(what: string, result: { code: number | null; stderr: string }, dataDir: string): Error {
  return commandFailed(what, { exitCode: result.code, stderr: result.stderr.split(dataDir).join('<data>') });
}
