/**
 * Processes inside sandboxes: start (journaled), one-shot run with collected output, list,
 * reattach, stdin, signals, PTY resize. The sandbox env is merged under the process env here, so
 * backends receive one env per process.
 */
import { ProcessNotFoundError, ProcessTimeoutError } from '../domain/errors.js';
import type { CommandResult, ExecSpec, OutputChunk, ProcessInfo, SignalName, TerminationReason } from '../domain/process.js';
import { assertStateIn, type SandboxState } from '../domain/sandbox-state.js';
import type { CallOptions, ProcessHandle } from '../port/isolation-backend.js';
import type { EngineContext } from './context.js';
import { summarizeExec } from './redact.js';
import { assertNeeds, execNeeds } from './requirements.js';

export class Processes {
  constructor(private readonly ctx: EngineContext) {}

  private async backendFor(sandboxId: string, verb: string) {
    const row = this.ctx.row(sandboxId);
    assertStateIn(row.state as SandboxState, ['running'], verb);
    return { row, backend: this.ctx.backendOf(row) };
  }

  /** Starts a process (running sandboxes only) and returns its live handle. */
  async start(sandboxId: string, spec: ExecSpec, options?: CallOptions): Promise<ProcessHandle> {
    const { row, backend } = await this.backendFor(sandboxId, 'exec in');
    assertNeeds(backend.name, await this.ctx.report(backend), execNeeds(spec));
    // The template's default user is applied below; it needs no capability check of its own.
    const env = { ...(JSON.parse(row.env) as Record<string, string>), ...spec.env };
    const full: ExecSpec = { ...spec, env };
    const cwd = spec.cwd ?? row.workdir;
    if (cwd) full.cwd = cwd;
    const user = spec.user ?? row.exec_user;
    if (user) full.user = user;
    const summary = summarizeExec({ ...spec, env });
    const handle = await this.ctx.journal.effect({ sandboxId, effect: 'exec', summary, describe: (h) => ({ pid: h.pid }) }, () => backend.exec(sandboxId, full, options));
    const info = handle.info();
    this.ctx.store.insertProcess({ sandbox_id: sandboxId, pid: handle.pid, tag: spec.tag ?? null, cmd: String(summary.program), pty: spec.pty ? 1 : 0, started_at: info.startedAt, exit_code: null, signal: null, reason: null });
    this.ctx.events.emit(sandboxId, 'process.started', { pid: handle.pid, program: summary.program, ...(spec.tag ? { tag: spec.tag } : {}) });
    void handle.wait().then(
      (exit) => {
        this.ctx.store.finishProcess(sandboxId, handle.pid, info.startedAt, { exit_code: exit.exitCode, signal: exit.signal, reason: exit.reason });
        this.ctx.events.emit(sandboxId, 'process.exited', { pid: handle.pid, exitCode: exit.exitCode, reason: exit.reason });
      },
      () => undefined,
    );
    return handle;
  }

  /**
   * Runs a command to completion and returns its output. A non-zero exit is a result; running past
   * `timeoutMs` throws `ProcessTimeoutError` (with the partial output in its details).
   */
  async run(sandboxId: string, spec: ExecSpec, options?: CallOptions): Promise<CommandResult> {
    const startedAt = Date.now();
    const handle = await this.start(sandboxId, spec, options);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    for await (const chunk of handle.output(1, options)) (chunk.stream === 'stderr' ? stderr : stdout).push(Buffer.from(chunk.data));
    const exit = await handle.wait(options);
    const result: CommandResult = {
      pid: handle.pid,
      exitCode: exit.exitCode ?? -1,
      stdout: Buffer.concat(stdout).toString(),
      stderr: Buffer.concat(stderr).toString(),
      reason: exit.reason,
      durationMs: Date.now() - startedAt,
    };
    if (exit.reason === 'timeout') throw new ProcessTimeoutError(spec.timeoutMs ?? 0, { pid: result.pid, stdout: result.stdout.slice(-4096), stderr: result.stderr.slice(-4096) });
    return result;
  }

  /** Live processes from the backend, plus ended ones the store remembers (e.g. `lost`). */
  async list(sandboxId: string): Promise<ProcessInfo[]> {
    const row = this.ctx.row(sandboxId);
    const live = row.state === 'running' || row.state === 'paused' ? await this.ctx.backendOf(row).listProcesses(sandboxId) : [];
    const seen = new Set(live.map((p) => `${p.pid}@${p.startedAt}`));
    const remembered = this.ctx.store
      .processes(sandboxId)
      .filter((p) => !seen.has(`${p.pid}@${p.started_at}`) && p.reason !== null)
      .map<ProcessInfo>((p) => ({ pid: p.pid, tag: p.tag, cmd: p.cmd, args: [], cwd: null, pty: p.pty === 1, startedAt: p.started_at, running: false, exit: { exitCode: p.exit_code, signal: p.signal, reason: p.reason as TerminationReason } }));
    return [...live, ...remembered];
  }

  /** A live handle by pid, or by tag when `pidOrTag` is a string that is not a number. */
  async get(sandboxId: string, pidOrTag: number | string): Promise<ProcessHandle> {
    const { backend } = await this.backendFor(sandboxId, 'reach a process in');
    if (typeof pidOrTag === 'number') return backend.getProcess(sandboxId, pidOrTag);
    const match = (await backend.listProcesses(sandboxId)).filter((p) => p.tag === pidOrTag && p.running).pop();
    if (!match) throw new ProcessNotFoundError(sandboxId, pidOrTag);
    return backend.getProcess(sandboxId, match.pid);
  }

  async output(sandboxId: string, pid: number, fromSeq = 1, options?: CallOptions): Promise<AsyncIterable<OutputChunk>> {
    return (await this.get(sandboxId, pid)).output(fromSeq, options);
  }

  async writeStdin(sandboxId: string, pid: number, data: Uint8Array): Promise<void> {
    await (await this.get(sandboxId, pid)).writeStdin(data);
  }

  async closeStdin(sandboxId: string, pid: number): Promise<void> {
    await (await this.get(sandboxId, pid)).closeStdin();
  }

  async signal(sandboxId: string, pid: number, signal: SignalName): Promise<void> {
    const handle = await this.get(sandboxId, pid);
    await this.ctx.journal.effect({ sandboxId, effect: 'signal', summary: { pid, signal } }, () => handle.signal(signal));
  }

  async resize(sandboxId: string, pid: number, cols: number, rows: number): Promise<void> {
    await (await this.get(sandboxId, pid)).resize(cols, rows);
  }
}
