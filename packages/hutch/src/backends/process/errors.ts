/**
 * Host failures of the process tier (errno, exit status, stderr) → Hutch errors. The translations
 * are shared by every host-based tier and live in `host/host-errors.ts`.
 */
export { commandFailed, errnoOf, fileError, readOnlyError } from '../../host/host-errors.js';
