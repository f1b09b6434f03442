/**
 * Exec for the process tier. Each command goes host → prelude (joins the sandbox's cgroups,
 * installs the seccomp filter) → nsenter into every namespace of the sandbox's init (user, mount,
 * uts, ipc, net, pid; chroot to its root) → a tiny sh wrapper that reports its in-sandbox pid, cds
 * and execs the command. nsenter waits for that pid and re-raises its fatal signal, so the exit
 * code and signal Node sees are the command's own. Output goes to an `OutputLog`; PTY commands
 * run under node-pty, with the pid reported as an OSC sequence stripped from the output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import type { IPty } from 'node-pty';
import { BackendFailureError, BadRequestError, CapabilityMissingError, InvalidTransitionError } from '../../domain/errors.js';
import type { ExecSpec, OutputChunk, ProcessExit, ProcessInfo, SignalName } from '../../domain/process.js';
import { OutputLog } from '../../port/output-log.js';
import type { CallOptions, ProcessHandle } from '../../port/isolation-backend.js';
import { normalizeSandboxPath } from '../../port/sandbox-path.js';
import { oomKills } from './cgroups.js';
import { getSandbox, type BackendContext, type ProcessSandbox } from './context.js';
import { errnoOf } from './errors.js';
import { resolveSandboxPath } from './files.js';
import { cgroupProcsFiles, parsePasswd, planExecArgv, planExecEnv, resolveExecUser } from './plan.js';
import { preludeArgv } from '../../host/prelude.js';
import { childPids, innermostPid } from './proc.js';

const PTY_PID_MARK = /\x1b\]hutch-pid;(\d+)\x07/;

type Ended = { kind: 'timeout' } | { kind: 'sandbox_destroyed' } | undefined;

/** A process started through exec (see the module comment). */
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

  constructor(
    private readonly ctx: BackendContext,
    private readonly sandboxId: string,
    private readonly spec: ExecSpec,
    private readonly cwd: string,
    private readonly oomBefore: number,
    private readonly child: { pipe?: ChildProcess; pty?: IPty },
  ) {}

  info(): ProcessInfo {
    return {
      pid: this.pid,
      tag: this.spec.tag ?? null,
      cmd: this.spec.shell !== undefined ? '/bin/bash' : this.spec.cmd ?? '',
      args: this.spec.shell !== undefined ? ['-lc', this.spec.shell] : this.spec.args ?? [],
      cwd: this.cwd,
      pty: this.child.pty !== undefined,
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
    if (this.child.pty) this.child.pty.write('\x04');
    else this.child.pipe!.stdin!.end();
  }

  /**
   * Delivers `signal` to the command. SIGKILL goes to its whole process group (the command and
   * every process it started that stayed in its group, e.g. a shell's background jobs), so
   * killing a session's shell leaves nothing of it behind.
   */
  async signal(signal: SignalName): Promise<void> {
    if (this.exit) return;
    const target = await this.findHostPid();
    const group = this.child.pipe?.pid ?? this.child.pty?.pid;
    const targets = [target, signal === 'SIGKILL' && group !== undefined ? -group : undefined].filter((t): t is number => t !== undefined);
    for (const t of targets) {
      try {
        process.kill(t, signal);
      } catch (err) {
        if (errnoOf(err) !== 'ESRCH') throw err;
      }
    }
  }

  async resize(cols: number, rows: number): Promise<void> {
    if (!this.child.pty) throw new InvalidTransitionError('pipe', 'pty', 'resize a process without a PTY');
    if (!this.exit) this.child.pty.resize(cols, rows);
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

  /** Arms the timeout: the whole process group (nsenter and the command) is SIGKILLed. */
  armTimeout(timeoutMs: number): void {
    this.timer = setTimeout(() => {
      if (this.exit) return;
      this.ended ??= { kind: 'timeout' };
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

  /** Host pid of the in-sandbox process: the child of nsenter whose innermost pid is ours. */
  private async findHostPid(): Promise<number | undefined> {
    if (this.hostPid !== undefined) return this.hostPid;
    const nsenter = this.child.pipe?.pid ?? this.child.pty?.pid;
    if (nsenter === undefined) return undefined;
    for (const candidate of await childPids(nsenter)) {
      if ((await innermostPid(candidate)) === this.pid) return (this.hostPid = candidate);
    }
    return undefined;
  }

  /** Records the exit of the nsenter process (its status is the command's). */
  async finish(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (this.exit) return;
    clearTimeout(this.timer);
    let exit: ProcessExit;
    if (this.ended?.kind === 'sandbox_destroyed') exit = { exitCode: code, signal, reason: 'sandbox_destroyed' };
    else if (this.ended?.kind === 'timeout') exit = { exitCode: code, signal, reason: 'timeout' };
    else {
      const abnormal = signal !== null || code !== 0;
      const oom = abnormal && (await oomKills(this.ctx.layout, this.sandboxId).catch(() => 0)) > this.oomBefore;
      exit = oom ? { exitCode: code, signal, reason: 'oom' } : signal ? { exitCode: null, signal, reason: 'signaled' } : { exitCode: code ?? 0, signal: null, reason: 'exited' };
    }
    this.exit = exit;
    this.log.end();
    for (const w of this.exitWaiters.splice(0)) w(exit);
  }
}

function loadPty(): typeof import('node-pty') {
  const require = createRequire(import.meta.url);
  return require('node-pty') as typeof import('node-pty');
}

/** Starts `spec` in a running sandbox and resolves once its in-sandbox pid is known. */
export async function execInSandbox(ctx: BackendContext, id: string, spec: ExecSpec): Promise<ExecProcess> {
  const sandbox = getSandbox(ctx, id);
  if (sandbox.state !== 'running' || sandbox.initPid === undefined) {
    throw new InvalidTransitionError(sandbox.state === 'created' ? 'creating' : sandbox.state, 'running', 'exec in');
  }
  if ((spec.cmd === undefined) === (spec.shell === undefined)) throw new BadRequestError('Give exactly one of cmd or shell.');
  const cwd = normalizeSandboxPath(spec.cwd ?? sandbox.spec.workdir ?? '/workspace', '/workspace');
  const user = resolveExecUser(spec.user, parsePasswd(await readPasswd(ctx, sandbox)));
  if (!user) throw new BadRequestError(`Unknown user ${JSON.stringify(spec.user)} in the sandbox.`, { user: spec.user });
  const env = planExecEnv(sandbox.spec.env, spec.env, user, spec.pty !== undefined);
  const inner = planExecArgv({ initPid: sandbox.initPid, user, cwd, cmd: spec.cmd, args: spec.args, shell: spec.shell, pidFd: spec.pty ? undefined : 3, nsenterPath: ctx.tools.nsenter });
  const argv = preludeArgv({ seccompFile: sandbox.paths.seccomp, cgroupProcs: cgroupProcsFiles(ctx.layout, id), argv: inner }, ctx.tools.perl);
  const oomBefore = await oomKills(ctx.layout, id).catch(() => 0);
  const handle = spec.pty ? startPty(ctx, sandbox, spec, cwd, oomBefore, argv, env) : startPipes(ctx, sandbox, spec, cwd, oomBefore, argv, env);
  const proc = await handle;
  if (spec.timeoutMs && spec.timeoutMs > 0) proc.armTimeout(spec.timeoutMs);
  sandbox.processes.set(proc.pid, proc);
  return proc;
}

async function readPasswd(ctx: BackendContext, sandbox: ProcessSandbox): Promise<string> {
  try {
    const resolved = await resolveSandboxPath(sandbox, '/etc/passwd', true);
    return resolved.hostPath ? await readFile(resolved.hostPath, 'utf8') : '';
  } catch {
    return '';
  }
}

async function startPipes(ctx: BackendContext, sandbox: ProcessSandbox, spec: ExecSpec, cwd: string, oomBefore: number, argv: string[], env: Record<string, string>): Promise<ExecProcess> {
  // detached: the command gets its own process group, so a timeout can kill it without touching ours.
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], env, cwd: '/', detached: true });
  const proc = new ExecProcess(ctx, sandbox.id, spec, cwd, oomBefore, { pipe: child });
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
    throw new BackendFailureError(`Could not enter the sandbox to run the command (exit ${code})${stderr ? `: ${stderr}` : ''}.`, { sandboxId: sandbox.id });
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

async function startPty(ctx: BackendContext, sandbox: ProcessSandbox, spec: ExecSpec, cwd: string, oomBefore: number, argv: string[], env: Record<string, string>): Promise<ExecProcess> {
  let pty: IPty;
  try {
    pty = loadPty().spawn(argv[0]!, argv.slice(1), { cols: spec.pty!.cols, rows: spec.pty!.rows, env, cwd: '/', name: 'xterm-256color', encoding: null });
  } catch (err) {
    throw new CapabilityMissingError('exec.pty', 'process', `run a PTY command (${(err as Error).message})`);
  }
  const proc = new ExecProcess(ctx, sandbox.id, spec, cwd, oomBefore, { pty });
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
    const name = signal ? (Object.entries(osConstants.signals).find(([, n]) => n === signal)?.[0] as NodeJS.Signals | undefined) ?? null : null;
    setTimeout(() => void proc.finish(name ? null : exitCode, name), 50);
  });
  const pid = await pidPromise;
  if (!pid) throw new BackendFailureError('Could not enter the sandbox to run the PTY command.', { sandboxId: sandbox.id });
  if (spec.stdin) await proc.writeStdin(spec.stdin);
  if (!spec.keepStdinOpen && spec.stdin) await proc.closeStdin();
  return proc;
}
