/**
 * Processes inside a VM: started by the guest agent, output multiplexed over the agent channel
 * into an `OutputLog` per process, exit and termination reason from the agent's `exit` event (or
 * from the host: `timeout`, `sandbox_destroyed`, `lost` when the channel went away).
 */
import { InvalidTransitionError } from '../../domain/errors.js';
import type { ExecSpec, ProcessExit, ProcessInfo, SignalName, TerminationReason } from '../../domain/process.js';
import type { CallOptions, ProcessHandle } from '../../port/isolation-backend.js';
import { OutputLog } from '../../port/output-log.js';
import type { AgentChannel } from './agent-channel.js';
import type { AgentEvent } from './agent-protocol.js';
import type { FileEventType } from '../../domain/files.js';
import type { Vm } from './context.js';
import { guestExecError } from './errors.js';

export class MicrovmProcess implements ProcessHandle {
  readonly log = new OutputLog();
  private exit: ProcessExit | null = null;
  private stdinOpen: boolean;
  private forcedReason: TerminationReason | null = null;
  private timer: NodeJS.Timeout | undefined;
  private readonly exited: Promise<ProcessExit>;
  private resolveExit!: (exit: ProcessExit) => void;
  private readonly startedAt = new Date().toISOString();

  constructor(
    readonly pid: number,
    private readonly spec: ExecSpec,
    private readonly argv: string[],
    private readonly agent: AgentChannel,
  ) {
    this.stdinOpen = spec.keepStdinOpen === true || spec.pty !== undefined;
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
    if (spec.timeoutMs && spec.timeoutMs > 0) {
      this.timer = setTimeout(() => {
        this.forcedReason = 'timeout';
        void this.agent.request('signal', { pid: this.pid, sig: 'SIGKILL', group: true }).catch(() => undefined);
      }, spec.timeoutMs);
    }
  }

  info(): ProcessInfo {
    return {
      pid: this.pid,
      tag: this.spec.tag ?? null,
      cmd: this.argv[0]!,
      args: this.argv.slice(1),
      cwd: this.spec.cwd ?? null,
      pty: this.spec.pty !== undefined,
      startedAt: this.startedAt,
      running: this.exit === null,
      exit: this.exit,
    };
  }

  output(fromSeq?: number, options?: CallOptions): AsyncIterable<import('../../domain/process.js').OutputChunk> {
    return this.log.read(fromSeq, options?.signal);
  }

  async writeStdin(data: Uint8Array): Promise<void> {
    if (!this.stdinOpen || this.exit) throw new InvalidTransitionError(this.exit ? 'exited' : 'stdin_closed', 'stdin_open', 'write to stdin of');
    await this.agent.request('stdin', { pid: this.pid, d: Buffer.from(data).toString('base64') });
  }

  async closeStdin(): Promise<void> {
    if (!this.stdinOpen || this.exit) return;
    this.stdinOpen = false;
    await this.agent.request('close_stdin', { pid: this.pid });
  }

  async signal(signal: SignalName): Promise<void> {
    if (this.exit) return;
    await this.agent.request('signal', { pid: this.pid, sig: signal, group: signal === 'SIGKILL' });
  }

  async resize(cols: number, rows: number): Promise<void> {
    if (!this.spec.pty || this.exit) return;
    await this.agent.request('resize', { pid: this.pid, cols, rows });
  }

  async wait(options?: CallOptions): Promise<ProcessExit> {
    if (!options?.signal) return this.exited;
    const signal = options.signal;
    signal.throwIfAborted();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      void this.exited.then((e) => {
        signal.removeEventListener('abort', onAbort);
        resolve(e);
      });
    });
  }

  /** Output from the agent. */
  onOutput(stream: 'stdout' | 'stderr' | 'pty', data: Buffer): void {
    this.log.append(stream, data);
  }

  /** The agent reported the exit (or the host ends it with `reason`). */
  finish(code: number | null, signal: string | null, reason?: TerminationReason): void {
    if (this.exit) return;
    clearTimeout(this.timer);
    this.stdinOpen = false;
    const why: TerminationReason = reason ?? this.forcedReason ?? (signal ? 'signaled' : 'exited');
    this.exit = { exitCode: code, signal, reason: why };
    this.log.end();
    this.resolveExit(this.exit);
  }
}

/** argv for a spec: the shell form runs under `/bin/bash -lc` (falling back to `/bin/sh -c`). */
export function execArgv(spec: ExecSpec): string[] {
  if (spec.shell !== undefined) return ['/bin/sh', '-c', `if [ -x /bin/bash ]; then exec /bin/bash -lc "$0"; else exec /bin/sh -c "$0"; fi`, spec.shell];
  if (!spec.cmd) throw new InvalidTransitionError('invalid', 'exec', 'exec without cmd or shell in');
  return [spec.cmd, ...(spec.args ?? [])];
}

/** Starts `spec` in the VM through its agent. The VM must be running (the caller checks). */
export async function execInVm(vm: Vm, agent: AgentChannel, spec: ExecSpec): Promise<MicrovmProcess> {
  const argv = execArgv(spec);
  let reply: { pid: number; failed?: { code: number; message: string } };
  try {
    reply = await agent.request<{ pid: number; failed?: { code: number; message: string } }>('exec', {
      argv,
      cwd: spec.cwd ?? vm.spec.workdir ?? '/workspace',
      env: spec.env ?? {},
      user: spec.user ?? null,
      stdin: spec.stdin ? Buffer.from(spec.stdin).toString('base64') : '',
      keep_stdin: spec.keepStdinOpen === true,
      pty: spec.pty ?? null,
    });
  } catch (err) {
    throw guestExecError(err);
  }
  const proc = new MicrovmProcess(reply.pid, spec, spec.shell !== undefined ? ['/bin/bash', '-lc', spec.shell] : argv, agent);
  vm.processes.set(reply.pid, proc);
  // Events that arrived in the same read as the reply were dispatched before the pid was known.
  const early = vm.earlyEvents.get(reply.pid);
  vm.earlyEvents.delete(reply.pid);
  for (const event of early ?? []) dispatchAgentEvent(vm, event);
  if (reply.failed) {
    proc.onOutput('stderr', Buffer.from(reply.failed.message));
    proc.finish(reply.failed.code, null);
  }
  return proc;
}

/** Routes one agent event to the process or watcher it belongs to. */
export function dispatchAgentEvent(vm: Vm, event: AgentEvent): void {
  // A connection is registered before its `connect` is sent, so its events never arrive early.
  if (event.ev === 'conn') return vm.connections.get(event.c)?.onData(Buffer.from(event.d, 'base64'));
  if (event.ev === 'conn_end') return vm.connections.get(event.c)?.onEnd();
  if (event.ev !== 'watch' && !vm.processes.has(event.p)) {
    if (vm.earlyEvents.size > 256) vm.earlyEvents.clear();
    const list = vm.earlyEvents.get(event.p) ?? [];
    list.push(event);
    vm.earlyEvents.set(event.p, list);
    return;
  }
  if (event.ev === 'out') vm.processes.get(event.p)?.onOutput(event.s, Buffer.from(event.d, 'base64'));
  else if (event.ev === 'exit') vm.processes.get(event.p)?.finish(event.code, event.sig);
  else if (event.ev === 'watch') vm.watchers.get(event.w)?.push({ type: event.type as FileEventType, path: event.path });
}

/**
 * Ends every tracked process still running with `reason` (destroy, stop, lost channel), and every
 * forwarded connection (its stream reads EOF).
 */
export function endAll(vm: Vm, reason: TerminationReason): void {
  for (const proc of vm.processes.values()) proc.finish(null, null, reason);
  for (const connection of [...vm.connections.values()]) connection.onEnd();
  vm.connections.clear();
}
