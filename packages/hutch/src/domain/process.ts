/** Processes inside a sandbox: what to run (`ExecSpec`), how it is reported, and how it ended. */

/** Why a process ended. Typed everywhere, so OOM, timeout and a destroyed sandbox are told apart. */
export type TerminationReason = 'exited' | 'signaled' | 'timeout' | 'oom' | 'sandbox_destroyed' | 'lost';

export interface ExecSpec {
  /** argv form: `cmd` is run as-is with `args`. Exactly one of `cmd` or `shell` is set. */
  cmd?: string;
  args?: string[];
  /** Shell form: run with `/bin/bash -lc` (falls back to `/bin/sh -c`). */
  shell?: string;
  cwd?: string;
  /** Extra env for this process; merged over the sandbox env. Values may be secrets. */
  env?: Record<string, string>;
  /** User name or uid to run as inside the sandbox. */
  user?: string;
  /** Data written to stdin at start; stdin stays open if `keepStdinOpen`. */
  stdin?: Uint8Array;
  keepStdinOpen?: boolean;
  pty?: { cols: number; rows: number };
  /** Kill after this long; the termination reason is then `timeout`. 0 or undefined = no timeout. */
  timeoutMs?: number;
  /** A caller-chosen name to find the process again. */
  tag?: string;
}

export type OutputStream = 'stdout' | 'stderr' | 'pty';

/** One ordered chunk of process output. `seq` starts at 1 and has no gaps per process. */
export interface OutputChunk {
  seq: number;
  stream: OutputStream;
  data: Uint8Array;
}

export interface ProcessExit {
  exitCode: number | null;
  signal: string | null;
  reason: TerminationReason;
}

export interface ProcessInfo {
  /** The real pid inside the sandbox's pid namespace. */
  pid: number;
  tag: string | null;
  cmd: string;
  args: string[];
  cwd: string | null;
  pty: boolean;
  startedAt: string;
  running: boolean;
  exit: ProcessExit | null;
}

/** Result of a one-shot command run to completion. */
export interface CommandResult {
  pid: number;
  exitCode: number;
  stdout: string;
  stderr: string;
  reason: TerminationReason;
  durationMs: number;
}

export const SIGNALS = ['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGSTOP', 'SIGCONT'] as const;
export type SignalName = (typeof SIGNALS)[number];
