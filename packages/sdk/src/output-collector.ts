/**
 * Collects a command's output frames into text, feeds the `onStdout`/`onStderr` callbacks, and
 * builds the `CommandResult` at exit (throwing `TimeoutError` when the command ran out of time).
 */
import type { TerminationReason } from '@hutch/protocol';
import { TimeoutError } from './errors.js';

/** What a finished command produced. A non-zero `exitCode` is a result, not an error. */
export interface CommandResult {
  pid: number;
  /** The exit code; for a signal, 128 + its number (or -1 when unknown). */
  exitCode: number;
  /** The signal that ended the process (`SIGKILL`…), or null. */
  signal: string | null;
  stdout: string;
  stderr: string;
  reason: TerminationReason;
  /** Wall time from the request to the exit, in milliseconds, measured by the client. */
  durationMs: number;
}

/** Callbacks receiving output as UTF-8 text, chunk by chunk (PTY output goes to `onStdout`). */
export interface OutputCallbacks {
  onStdout?: (data: string) => void;
  onStderr?: (data: string) => void;
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };

/** Accumulates output text per stream; one per command. */
export class OutputCollector {
  private readonly stdoutDecoder = new TextDecoder();
  private readonly stderrDecoder = new TextDecoder();
  private stdoutText = '';
  private stderrText = '';
  private readonly startedAt = Date.now();

  constructor(private readonly callbacks: OutputCallbacks = {}) {}

  get stdout(): string {
    return this.stdoutText;
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** Adds one chunk of output and calls the matching callback. */
  push(stream: 'stdout' | 'stderr' | 'pty', data: Uint8Array): void {
    if (stream === 'stderr') {
      const text = this.stderrDecoder.decode(data, { stream: true });
      this.stderrText += text;
      if (text) this.callbacks.onStderr?.(text);
    } else {
      const text = this.stdoutDecoder.decode(data, { stream: true });
      this.stdoutText += text;
      if (text) this.callbacks.onStdout?.(text);
    }
  }

  /**
   * The result at exit. Throws `TimeoutError` (code `process_timeout`, partial output in `details`)
   * when `reason` is `timeout`.
   */
  finish(pid: number, exit: { exitCode: number | null; signal: string | null; reason: TerminationReason }, timeoutMs?: number): CommandResult {
    const tailOut = this.stdoutDecoder.decode();
    const tailErr = this.stderrDecoder.decode();
    this.stdoutText += tailOut;
    this.stderrText += tailErr;
    const exitCode = exit.exitCode ?? (exit.signal && SIGNAL_NUMBERS[exit.signal] !== undefined ? 128 + SIGNAL_NUMBERS[exit.signal]! : -1);
    const result: CommandResult = { pid, exitCode, signal: exit.signal, stdout: this.stdoutText, stderr: this.stderrText, reason: exit.reason, durationMs: Date.now() - this.startedAt };
    if (exit.reason === 'timeout') {
      const limit = timeoutMs === undefined ? '' : ` after ${timeoutMs} ms`;
      throw new TimeoutError('process_timeout', `The command (pid ${pid}) timed out${limit}.`, 408, { pid, stdout: result.stdout.slice(-4096), stderr: result.stderr.slice(-4096) });
    }
    return result;
  }
}
