/**
 * Exec'd processes of the host-based tiers (process, container), whatever launcher enters the
 * sandbox (nsenter, `crun exec`). The launcher runs an in-sandbox `sh` wrapper (host/exec-plan.ts)
 * that reports its own pid — on fd 3, or as an OSC sequence for PTYs — then execs the command, so
 * that pid is the command's. Output goes to an `OutputLog`; PTY commands run under node-pty. The
 * tier supplies the hooks: how to find the command's host pid (signals, timeouts) and the OOM
 * counter of the sandbox's memory cgroup (termination reason `oom`). A command started by the
 * in-sandbox exec agent (host/agent-exec.ts) is the same `ExecProcess` over an `AgentChannel`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import type { IPty } from 'node-pty';
import { BackendFailureError, CapabilityMissingError, InvalidTransitionError } from '../domain/errors.js';
import type { ExecSpec, OutputChunk, ProcessExit, ProcessInfo, SignalName } from '../domain/process.js';
import { OutputLog } from '../port/output-log.js';
import type { CallOptions, ProcessHandle } from '../port/isolation-backend.js';
import { errnoOf } from './host-errors.js';

/** What a tier tells `ExecProcess` about its sandbox. */
export interface ExecHooks {
  /** Host pid of the command, given the launcher's host pid and the command's in-sandbox pid. */
  findHostPid(launcherPid: number, pid: number): Promise<number | undefined>;
  /** OOM kills so far in the sandbox's memory cgroup. */
  oomKills(): Promise<number>;
  /**
   * True when the launcher reports a command killed by signal n as exit code 128+n (`crun exec`)
   * rather than dying of the same signal (nsenter). Such an exit is then reported as `signaled`
   * when Hutch sent that signal.
   */
  signalAsExitCode?: boolean;
}

/** The host's end of one agent connection (host/agent-exec.ts): the command's stdin, signals, size. */
export interface AgentChannel {
  write(data: Uint8Array): Promise<void>;
  closeStdin(): void;
  signal(signo: number, group: boolean): void;
  resize(cols: number, rows: number): void;
}

/** Everything needed to launch one exec'd command. */
export interface ExecLaunch {
  backend: string;
  sandboxId: string;
  argv: string[];
  /** The launcher's environment (for nsenter: the command's; crun exec takes it from its process file). */
  env: Record<string, string>;
  spec: ExecSpec;
  cwd: string;
  hooks: ExecHooks;
  oomBefore: number;
}

const PTY_PID_MARK = /\x1b\]hutch-pid;(\d+)\x07/;

type Ended = { kind: 'timeout' } | { kind: 'sandbox_destroyed' } | undefined;

/** A process started through exec (see the module comment). Tiers start one with `startPipeProcess` or `startPtyProcess`. */
export class ExecProcess implements ProcessHandle {
  pid = 0;
  readonly log = new OutputLog();
  private exit: ProcessExit | null = null;
  private exitWaiters: Array<(e: ProcessExit) => void> = [];
  private stdinClosed = false;
  private ended: Ended;
  private hostPid: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = new Date().toISOString();

  private readonly sentSignals = new Set<number>();

  constructor(
    private readonly hooks: ExecHooks,
    private readonly spec: ExecSpec,
    private readonly cwd: string,
    private readonly oomBefore: number,
    private readonly child: { pipe?: ChildProcess; pty?: IPty; agent?: AgentChannel },
  ) {}

  info(): ProcessInfo {
    return {
      pid: this.pid,
      tag: this.spec.tag ?? null,
      cmd: this.spec.shell !== undefined ? '/bin/bash' : this.spec.cmd ?? '',
      args: this.spec.shell !== undefined ? ['-lc', this.spec.shell] : this.spec.args ?? [],
      cwd: this.cwd,
      pty: this.spec.pty !== undefined,
      startedAt: this.startedAt,
      running: this.exit === null,
      exit: this.exit,
    };
  }

  output(fromSeq = 1, options?: CallOptions): AsyncIterable<OutputChunk> {
    return this.log.read(fromSeq, options?.signal);
  }

  async writeStdin(data: Uint8Array): Promise<void> {
    if (this.stdinClosed || this.exit) throw new InvalidTransitionError(this.exit ? 'exited' : 'stdin_closed', 'stdin', 'write to stdin');
    if (this.child.agent) return this.child.agent.write(data);
    if (this.child.pty) {
      this.child.pty.write(Buffer.from(data).toString('binary'));
      return;
    }
    const stdin = this.child.pipe!.stdin!;
    await new Promise<void>((resolve, reject) => stdin.write(data, (err) => (err && errnoOf(err) !== 'EPIPE' ? reject(err) : resolve())));
  }

  async closeStdin(): Promise<void> {
    if (this.stdinClosed) return;
    this.stdinClosed = true;
    if (this.child.agent) this.child.agent.closeStdin();
    else if (this.child.pty) this.child.pty.write('\x04');
    else this.child.pipe!.stdin!.end();
  }

  /**
   * Delivers `signal` to the command. SIGKILL goes to its whole process group (the command and
   * every process it started that stayed in its group, e.g. a shell's background jobs), so
   * killing a session's shell leaves nothing of it behind.
   */
  async signal(signal: SignalName): Promise<void> {
    if (this.exit) return;
    if (this.child.agent) {
      this.sentSignals.add(osConstants.signals[signal]);
      this.child.agent.signal(osConstants.signals[signal], signal === 'SIGKILL');
      return;
    }
    const target = await this.findHostPid();
    const group = this.child.pipe?.pid ?? this.child.pty?.pid;
    const targets = [target, signal === 'SIGKILL' && group !== undefined ? -group : undefined].filter((t): t is number => t !== undefined);
    if (targets.length > 0) this.sentSignals.add(osConstants.signals[signal]);
    for (const t of targets) {
      try {
        process.kill(t, signal);
      } catch (err) {
        if (errnoOf(err) !== 'ESRCH') throw err;
      }
    }
  }

  async resize(cols: number, rows: number): Promise<void> {
    if (this.spec.pty === undefined) throw new InvalidTransitionError('pipe', 'pty', 'resize a process without a PTY');
    if (this.exit) return;
    if (this.child.agent) this.child.agent.resize(cols, rows);
    else this.child.pty?.resize(cols, rows);
  }

  wait(options?: CallOptions): Promise<ProcessExit> {
    if (this.exit) return Promise.resolve(this.exit);
    return new Promise((resolve, reject) => {
      const signal = options?.signal;
      const onAbort = () => reject(signal!.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.exitWaiters.push((e) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(e);
      });
    });
  }

  /** The sandbox is being stopped or destroyed: the exit will read `sandbox_destroyed`. */
  markSandboxGone(): void {
    this.ended ??= { kind: 'sandbox_destroyed' };
  }

  /** Arms the timeout: the command and the launcher's whole process group are SIGKILLed. */
  armTimeout(timeoutMs: number): void {
    this.timer = setTimeout(() => {
      if (this.exit) return;
      this.ended ??= { kind: 'timeout' };
      if (this.child.agent) return this.child.agent.signal(osConstants.signals.SIGKILL, true);
      const leader = this.child.pipe?.pid ?? this.child.pty?.pid;
      void this.findHostPid().then((pid) => {
        for (const target of [pid, leader === undefined ? undefined : -leader]) {
          if (target === undefined) continue;
          try {
            process.kill(target, 'SIGKILL');
          } catch {
            // Already gone: the exit event follows.
          }
        }
      });
    }, timeoutMs);
  }

  /** Host pid of the in-sandbox process, found once through the tier's hook. */
  private async findHostPid(): Promise<number | undefined> {
    if (this.hostPid !== undefined) return this.hostPid;
    const launcher = this.child.pipe?.pid ?? this.child.pty?.pid;
    if (launcher === undefined) return undefined;
    this.hostPid = await this.hooks.findHostPid(launcher, this.pid);
    return this.hostPid;
  }

  /** Records the exit of the launcher (its status is the command's; see `ExecHooks.signalAsExitCode`). */
  async finish(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (this.exit) return;
    clearTimeout(this.timer);
    let exit: ProcessExit;
    if (this.ended?.kind === 'sandbox_destroyed') exit = { exitCode: code, signal, reason: 'sandbox_destroyed' };
    else if (this.ended?.kind === 'timeout') exit = { exitCode: code, signal, reason: 'timeout' };
    else {
      if (this.hooks.signalAsExitCode && signal === null && code !== null && this.sentSignals.has(code - 128)) {
        signal = signalName(code - 128);
      }
      const abnormal = signal !== null || code !== 0;
      const oom = abnormal && (await this.hooks.oomKills().catch(() => 0)) > this.oomBefore;
      exit = oom ? { exitCode: code, signal, reason: 'oom' } : signal ? { exitCode: null, signal, reason: 'signaled' } : { exitCode: code ?? 0, signal: null, reason: 'exited' };
    }
    this.exit = exit;
    this.log.end();
    for (const w of this.exitWaiters.splice(0)) w(exit);
  }
}

/** The name of signal number `signo`, or null for a number that is no signal. */
export function signalName(signo: number): NodeJS.Signals | null {
  return (Object.entries(osConstants.signals).find(([, n]) => n === signo)?.[0] as NodeJS.Signals | undefined) ?? null;
}

function loadPty(): typeof import('node-pty') {
  const require = createRequire(import.meta.url);
  return require('node-pty') as typeof import('node-pty');
}

/**
 * Spawns `launch.argv` with stdin/stdout/stderr pipes and fd 3 as the pid pipe (the in-sandbox
 * wrapper writes its pid there, then execs the command); resolves once the pid is known.
 * Throws `BackendFailureError` with the launcher's stderr tail when no pid arrives.
 */
export async function startPipeProcess(launch: ExecLaunch): Promise<ExecProcess> {
  const { argv, env, spec, cwd, hooks, oomBefore, sandboxId } = launch;
  // detached: the command gets its own process group, so a timeout can kill it without touching ours.
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], env, cwd: '/', detached: true });
  const proc = new ExecProcess(hooks, spec, cwd, oomBefore, { pipe: child });
  child.stdin!.on('error', () => undefined);
  child.stdout!.on('data', (d: Buffer) => proc.log.append('stdout', d));
  child.stderr!.on('data', (d: Buffer) => proc.log.append('stderr', d));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  let pidText = '';
  const pidPipe = child.stdio[3] as NodeJS.ReadableStream;
  const pid = await new Promise<number | undefined>((resolve) => {
    pidPipe.on('data', (d: Buffer) => {
      pidText += d.toString();
      if (pidText.includes('\n')) resolve(Number(pidText.trim()));
    });
    pidPipe.once('end', () => resolve(undefined));
    void spawnError.then(() => resolve(undefined));
  });
  if (!pid) {
    child.kill('SIGKILL');
    const [code] = await exited;
    const stderr = proc.log.collect('stderr').toString().trim().slice(-300);
    throw new BackendFailureError(`Could not enter the sandbox to run the command (exit ${code})${stderr ? `: ${stderr}` : ''}.`, { sandboxId });
  }
  proc.pid = pid;
  if (spec.stdin) child.stdin!.write(spec.stdin);
  if (!spec.keepStdinOpen) await proc.closeStdin();
  // Ends once the command has exited and its output pipes are drained; a background job that keeps
  // them open only delays the end by a bounded grace period.
  void exited.then(async ([code, signal]) => {
    await Promise.race([
      Promise.all([once(child.stdout!, 'close'), once(child.stderr!, 'close')]),
      new Promise((r) => setTimeout(r, 500).unref()),
    ]);
    await proc.finish(code, signal);
  });
  return proc;
}

function once(stream: NodeJS.EventEmitter & { readableEnded?: boolean; destroyed?: boolean }, event: string): Promise<void> {
  if (stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => stream.once(event, () => resolve()));
}

/**
 * Spawns `launch.argv` under a PTY (node-pty); the in-sandbox wrapper prints its pid as an OSC
 * sequence first, which is stripped from the output. Throws `CapabilityMissingError` without
 * node-pty and `BackendFailureError` when no pid arrives.
 */
export async function startPtyProcess(launch: ExecLaunch): Promise<ExecProcess> {
  const { argv, env, spec, cwd, hooks, oomBefore, sandboxId } = launch;
  let pty: IPty;
  try {
    pty = loadPty().spawn(argv[0]!, argv.slice(1), { cols: spec.pty!.cols, rows: spec.pty!.rows, env, cwd: '/', name: 'xterm-256color', encoding: null });
  } catch (err) {
    throw new CapabilityMissingError('exec.pty', launch.backend, `run a PTY command (${(err as Error).message})`);
  }
  const proc = new ExecProcess(hooks, spec, cwd, oomBefore, { pty });
  let head = Buffer.alloc(0);
  let pidKnown: (pid: number | undefined) => void = () => undefined;
  const pidPromise = new Promise<number | undefined>((resolve) => (pidKnown = resolve));
  pty.onData((data: string | Buffer) => {
    const buf = typeof data === 'string' ? Buffer.from(data, 'binary') : data;
    if (proc.pid !== 0) return proc.log.append('pty', buf);
    head = Buffer.concat([head, buf]);
    const match = PTY_PID_MARK.exec(head.toString('latin1'));
    if (!match) return;
    proc.pid = Number(match[1]);
    const rest = head.subarray(match.index + match[0].length);
    if (rest.length > 0) proc.log.append('pty', rest);
    pidKnown(proc.pid);
  });
  pty.onExit(({ exitCode, signal }) => {
    pidKnown(undefined);
    const name = signal ? signalName(signal) : null;
    setTimeout(() => void proc.finish(name ? null : exitCode, name), 50);
  });
  const pid = await pidPromise;
  if (!pid) throw new BackendFailureError('Could not enter the sandbox to run the PTY command.', { sandboxId });
  if (spec.stdin) await proc.writeStdin(spec.stdin);
  if (!spec.keepStdinOpen && spec.stdin) await proc.closeStdin();
  return proc;
}
