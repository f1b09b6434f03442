/**
 * The sandbox state machine as one table. Every engine operation names the states it accepts and
 * calls `assertTransition`; an invalid move is an `InvalidTransitionError`, never a silent no-op.
 *
 *   creating → running ⇄ paused
 *   running → stopped → running
 *   any live state → destroyed (terminal, kept as a tombstone) · any live state → failed(reason)
 */
import { InvalidTransitionError } from './errors.js';

export const SANDBOX_STATES = ['creating', 'running', 'paused', 'stopped', 'failed', 'destroyed'] as const;
export type SandboxState = (typeof SANDBOX_STATES)[number];

export const TRANSITIONS: Readonly<Record<SandboxState, readonly SandboxState[]>> = {
  creating: ['running', 'failed', 'destroyed'],
  running: ['paused', 'stopped', 'failed', 'destroyed'],
  paused: ['running', 'failed', 'destroyed'],
  stopped: ['running', 'failed', 'destroyed'],
  failed: ['destroyed'],
  destroyed: [],
};

/** True when a sandbox may move from `from` to `to`. */
export function canTransition(from: SandboxState, to: SandboxState): boolean {
  return TRANSITIONS[from].includes(to);
}

/**
 * Throws `InvalidTransitionError` unless `from → to` is allowed.
 * @param operation the verb shown in the error ("pause", "exec in"), defaults to "move to <to>".
 */
export function assertTransition(from: SandboxState, to: SandboxState, operation?: string): void {
  if (!canTransition(from, to)) throw new InvalidTransitionError(from, to, operation);
}

/** Throws `InvalidTransitionError` unless `state` is one of `allowed` (for operations that do not move state). */
export function assertStateIn(state: SandboxState, allowed: readonly SandboxState[], operation: string): void {
  if (!allowed.includes(state)) throw new InvalidTransitionError(state, allowed.join('|'), operation);
}

/** Live states hold host resources; terminal ones do not. */
export function isLive(state: SandboxState): boolean {
  return state !== 'destroyed' && state !== 'failed';
}
