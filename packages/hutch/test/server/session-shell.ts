/**
 * A fake backend whose session shell understands the engine's session protocol: each command the
 * engine writes to the shell's stdin is run through the fake's mini-shell, and its output is
 * followed by the engine's marker and exit status, as bash would print them. Lets the session
 * routes be tested end to end on the fake.
 */
import { FakeBackend } from '../../src/backends/fake/index.js';
import type { ExecSpec, OutputChunk, ProcessExit, ProcessInfo, SignalName } from '../../src/domain/process.js';
import type { CallOptions, ProcessHandle } from '../../src/port/isolation-backend.js';
import { OutputLog } from '../../src/port/output-log.js';

const COMMAND = /^\{ ([\s\S]*)\n\} < \/dev\/null; printf '%s%d\\n' '(__HUTCH_[0-9a-f]+__)'/;

class ScriptedShell implements ProcessHandle {
  readonly pid: number;
  private readonly log = new OutputLog();

  constructor(
    private readonly inner: ProcessHandle,
    private readonly run: (command: string) => Promise<{ stdout: Buffer; stderr: Buffer; exitCode: number }>,
  ) {
    this.pid = inner.pid;
    void inner.wait().then(() => this.log.end());
  }

  info(): ProcessInfo {
    return { ...this.inner.info(), cmd: '/bin/bash', args: ['--noprofile', '--norc'] };
  }

  output(fromSeq?: number, options?: CallOptions): AsyncIterable<OutputChunk> {
    return this.log.read(fromSeq, options?.signal);
  }

  async writeStdin(data: Uint8Array): Promise<void> {
    const match = COMMAND.exec(Buffer.from(data).toString());
    if (!match) throw new Error('unexpected session input');
    const [, command, marker] = match;
    const result = await this.run(command!);
    this.log.append('stdout', Buffer.concat([result.stdout, Buffer.from(`${marker}${result.exitCode}\n`)]));
    this.log.append('stderr', Buffer.concat([result.stderr, Buffer.from(`${marker}\n`)]));
  }

  closeStdin(): Promise<void> {
    return this.inner.closeStdin();
  }

  signal(signal: SignalName): Promise<void> {
    return this.inner.signal(signal);
  }

  async resize(): Promise<void> {}

  wait(options?: CallOptions): Promise<ProcessExit> {
    return this.inner.wait(options);
  }
}

export class SessionFakeBackend extends FakeBackend {
  override async exec(id: string, spec: ExecSpec): Promise<ProcessHandle> {
    if (spec.cmd !== '/bin/bash' || spec.tag !== 'hutch-session') return super.exec(id, spec);
    // The shell's lifetime is a fake process that waits on stdin until the session is killed.
    const inner = await super.exec(id, { shell: 'cat', keepStdinOpen: true, tag: 'hutch-session' });
    return new ScriptedShell(inner, async (command) => {
      const handle = await super.exec(id, { shell: command, ...(spec.env ? { env: spec.env } : {}) });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      for await (const chunk of handle.output(1)) (chunk.stream === 'stderr' ? err : out).push(Buffer.from(chunk.data));
      const exit = await handle.wait();
      return { stdout: Buffer.concat(out), stderr: Buffer.concat(err), exitCode: exit.exitCode ?? 1 };
    });
  }
}
