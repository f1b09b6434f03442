/**
 * A process of the fake backend: plays a compiled mini-shell script (or a scripted result) against
 * the sandbox's in-memory filesystem, with real timers for `sleep`, so that signals, stdin, timeouts
 * and reattach behave as they do on a real backend.
 */
import { InvalidTransitionError } from '../../domain/errors.js';
import type { ExecSpec, OutputChunk, ProcessExit, ProcessInfo, SignalName, TerminationReason } from '../../domain/process.js';
import type { CallOptions, ProcessHandle } from '../../port/isolation-backend.js';
import { OutputLog } from '../../port/output-log.js';
import { normalizeSandboxPath } from '../../port/sandbox-path.js';
import type { FakeFs } from './fake-fs.js';
import type { ShellStep } from './mini-shell.js';

/** A canned result for a scripted process (see FakeBackendOptions.script). */
export interface FakeScript {
  stdout?: string[];
  stderr?: string[];
  exitCode?: number;
  /** Wait this long before exiting. */
  delayMs?: number;
}

export interface FakeProcessContext {
  pid: number;
  spec: ExecSpec;
  env: Record<string, string>;
  fs: FakeFs;
  cwd: string;
  steps: ShellStep[];
  now: () => string;
}

export class FakeProcess implements ProcessHandle {
  readonly pid: number;
  private readonly log = new OutputLog();
  private readonly stdinChunks: Buffer[] = [];
  private stdinClosed: boolean;
  private stdinWaiter: (() => void) | undefined;
  private exitInfo: ProcessExit | null = null;
  private readonly exited: Promise<ProcessExit>;
  private finish!: (exit: ProcessExit) => void;
  private interrupt: ((reason: TerminationReason, signal: string | null) => void) | undefined;
  private readonly startedAt: string;
  private cwd: string;
  private timer: NodeJS.Timeout | undefined;
  private sleepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: FakeProcessContext) {
    this.pid = ctx.pid;
    this.cwd = ctx.cwd;
    this.startedAt = ctx.now();
    this.stdinClosed = !ctx.spec.keepStdinOpen;
    if (ctx.spec.stdin) this.stdinChunks.push(Buffer.from(ctx.spec.stdin));
    this.exited = new Promise((resolve) => (this.finish = resolve));
    if (ctx.spec.timeoutMs) {
      this.timer = setTimeout(() => this.kill('timeout', 'SIGKILL'), ctx.spec.timeoutMs);
      this.timer.unref();
    }
    queueMicrotask(() => void this.run());
  }

  info(): ProcessInfo {
    const { spec } = this.ctx;
    return {
      pid: this.pid,
      tag: spec.tag ?? null,
      cmd: spec.shell !== undefined ? '/bin/bash' : spec.cmd ?? '',
      args: spec.shell !== undefined ? ['-lc', spec.shell] : spec.args ?? [],
      cwd: this.ctx.cwd,
      pty: spec.pty !== undefined,
      startedAt: this.startedAt,
      running: this.exitInfo === null,
      exit: this.exitInfo,
    };
  }

  output(fromSeq?: number, options?: CallOptions): AsyncIterable<OutputChunk> {
    return this.log.read(fromSeq, options?.signal);
  }

  async writeStdin(data: Uint8Array): Promise<void> {
    if (this.stdinClosed || this.exitInfo) throw new InvalidTransitionError(this.exitInfo ? 'exited' : 'stdin_closed', 'stdin', 'write to stdin');
    this.stdinChunks.push(Buffer.from(data));
    this.wakeStdin();
  }

  async closeStdin(): Promise<void> {
    this.stdinClosed = true;
    this.wakeStdin();
  }

  async signal(signal: SignalName): Promise<void> {
    if (this.exitInfo) return;
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') return;
    this.kill('signaled', signal);
  }

  async resize(): Promise<void> {
    if (!this.ctx.spec.pty) throw new InvalidTransitionError('pipe', 'pty', 'resize a process without a PTY');
  }

  wait(options?: CallOptions): Promise<ProcessExit> {
    if (!options?.signal) return this.exited;
    return Promise.race([
      this.exited,
      new Promise<never>((_, reject) => options.signal!.addEventListener('abort', () => reject(options.signal!.reason), { once: true })),
    ]);
  }

  /** Ends the process from outside (destroy, timeout, signal). */
  kill(reason: TerminationReason, signal: string | null): void {
    if (this.exitInfo) return;
    if (this.interrupt) this.interrupt(reason, signal);
    else this.end({ exitCode: null, signal, reason });
  }

  private end(exit: ProcessExit): void {
    if (this.exitInfo) return;
    clearTimeout(this.timer);
    clearTimeout(this.sleepTimer);
    this.exitInfo = exit;
    this.log.end();
    this.finish(exit);
  }

  private wakeStdin(): void {
    const w = this.stdinWaiter;
    this.stdinWaiter = undefined;
    w?.();
  }

  private emit(stream: 'stdout' | 'stderr', text: string | Buffer): void {
    this.log.append(this.ctx.spec.pty ? 'pty' : stream, typeof text === 'string' ? Buffer.from(text) : text);
  }

  /** Waits for `ms`, stdin or a kill; a kill wins and throws to stop the script. */
  private pause(register: (done: () => void) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.interrupt = (reason, signal) => reject(Object.assign(new Error('killed'), { exit: { exitCode: null, signal, reason } }));
      register(() => {
        this.interrupt = undefined;
        resolve();
      });
    });
  }

  private async run(): Promise<void> {
    let status = 0;
    try {
      for (const step of this.ctx.steps) {
        if (this.exitInfo) return;
        status = await this.play(step, status);
        if (status < 0) break;
      }
      this.end({ exitCode: status < 0 ? -status - 1 : status, signal: null, reason: 'exited' });
    } catch (err) {
      const exit = (err as { exit?: ProcessExit }).exit;
      this.end(exit ?? { exitCode: 1, signal: null, reason: 'exited' });
    }
  }

  /** Plays one step; returns the new status, or a negative value `-(code+1)` to stop with `code`. */
  private async play(step: ShellStep, status: number): Promise<number> {
    const { fs, env } = this.ctx;
    const path = (p: string) => normalizeSandboxPath(p, this.cwd);
    switch (step.op) {
      case 'out':
        this.emit(step.stream, step.text);
        return 0;
      case 'write':
        fs.write(path(step.path), Buffer.from(step.text));
        return 0;
      case 'cat-file':
        try {
          this.emit('stdout', fs.read(path(step.path)));
          return 0;
        } catch {
          this.emit('stderr', `cat: ${step.path}: No such file or directory\n`);
          return 1;
        }
      case 'cat-stdin':
        for (;;) {
          while (this.stdinChunks.length) this.emit('stdout', this.stdinChunks.shift()!);
          if (this.stdinClosed) return 0;
          await this.pause((done) => (this.stdinWaiter = done));
        }
      case 'sleep':
        await this.pause((done) => (this.sleepTimer = setTimeout(done, step.ms)));
        return 0;
      case 'pwd':
        this.emit('stdout', `${this.cwd}\n`);
        return 0;
      case 'cd':
        this.cwd = path(step.path);
        return 0;
      case 'printenv':
        if (env[step.name] === undefined) return 1;
        this.emit('stdout', `${env[step.name]}\n`);
        return 0;
      case 'symlink':
        fs.symlink(step.target, path(step.link));
        return 0;
      case 'status':
        if (step.stopUnlessZero && status !== 0) return -(status + 1);
        return step.stopUnlessZero ? status : step.code;
      case 'exit':
        return -(step.code + 1);
    }
  }
}

/** Turns a canned FakeScript into mini-shell steps. */
export function scriptSteps(script: FakeScript): ShellStep[] {
  const steps: ShellStep[] = [];
  for (const line of script.stdout ?? []) steps.push({ op: 'out', stream: 'stdout', text: line });
  for (const line of script.stderr ?? []) steps.push({ op: 'out', stream: 'stderr', text: line });
  if (script.delayMs) steps.push({ op: 'sleep', ms: script.delayMs });
  steps.push({ op: 'exit', code: script.exitCode ?? 0 });
  return steps;
}
