/**
 * envd's `process.Process` service over the engine's processes (§3 of the protocol notes):
 * Start and Connect stream `start` → `data`/`keepalive` → `end`; List, SendInput, SendSignal,
 * CloseStdin and Update (PTY resize) are unary. Pids are the real in-sandbox pids. Processes outlive
 * the request: cancelling a stream never kills its process, but Start's `Connect-Timeout-Ms` is the
 * process's lifetime limit. StreamInput (client streaming) is not used by the JS SDK and answers
 * `unimplemented`.
 */
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ExecSpec, OutputChunk, ProcessExit, SignalName } from '../../../domain/process.js';
import type { ProcessHandle } from '../../../port/isolation-backend.js';
import { withKeepalive } from '../../streaming/keepalive.js';
import { liveSandbox, type E2bContext } from '../context.js';
import { toConnectError } from '../errors.js';
import { Process, Signal, type ProcessEventSchema, type ProcessSelector } from './gen/process_pb.js';
import { envdCall } from './rpc-router.js';
import { homeOf } from './users.js';

type ProcessEventInit = MessageInitShape<typeof ProcessEventSchema>;

const SIGNAL_NAMES: Partial<Record<Signal, SignalName>> = { [Signal.SIGKILL]: 'SIGKILL', [Signal.SIGTERM]: 'SIGTERM' };
/** Go's names for the signals a process may die of (`ProcessState.String()`: "signal: killed"). */
const GO_SIGNAL_NAMES: Record<string, string> = { SIGKILL: 'killed', SIGTERM: 'terminated', SIGINT: 'interrupt', SIGHUP: 'hangup', SIGQUIT: 'quit', SIGSEGV: 'segmentation fault', SIGPIPE: 'broken pipe', SIGABRT: 'aborted', SIGUSR1: 'user defined signal 1', SIGUSR2: 'user defined signal 2' };
/** How long a stream whose process died with its sandbox waits for the socket drop before failing. */
const GONE_GRACE_MS = 10_000;

/** The `end` event of an exit, as envd words it. */
export function endEvent(exit: ProcessExit): ProcessEventInit {
  const signaled = exit.signal !== null;
  const status = signaled ? `signal: ${GO_SIGNAL_NAMES[exit.signal!] ?? exit.signal!.toLowerCase()}` : `exit status ${exit.exitCode ?? -1}`;
  const exitCode = signaled ? -1 : (exit.exitCode ?? -1);
  return { event: { case: 'end', value: { exitCode, exited: !signaled, status, ...(exitCode !== 0 ? { error: status } : {}) } } };
}

function dataEvent(chunk: OutputChunk): ProcessEventInit {
  return { event: { case: 'data', value: { output: { case: chunk.stream, value: chunk.data } } } };
}

/** Resolves when `signal` aborts, or rejects after `ms` (the drop never came). */
function abortedOrTimeout(signal: AbortSignal, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new ConnectError('The sandbox was killed while the process ran.', Code.Unavailable)), ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

/**
 * `start`, the output from `fromSeq` with keepalives, then `end`. A process that died with its
 * sandbox gets no `end`: the connection is dropped instead (see sandbox-sockets.ts).
 */
async function* processEvents(handle: ProcessHandle, fromSeq: number, context: HandlerContext): AsyncGenerator<{ event: ProcessEventInit }> {
  const { signal } = context;
  yield { event: { event: { case: 'start', value: { pid: handle.pid } } } };
  const keepalive = (): OutputChunk | 'keepalive' => 'keepalive';
  const output = withKeepalive<OutputChunk | 'keepalive'>(handle.output(fromSeq, { signal }), { intervalMs: envdCall(context).keepaliveMs, keepalive, signal });
  for await (const item of output) yield { event: item === 'keepalive' ? { event: { case: 'keepalive', value: {} } } : dataEvent(item) };
  if (signal.aborted) return;
  const exit = await handle.wait({ signal });
  if (exit.reason === 'sandbox_destroyed') {
    await abortedOrTimeout(signal, GONE_GRACE_MS);
    return;
  }
  yield { event: endEvent(exit) };
}

export function processService(ctx: E2bContext): Partial<ServiceImpl<typeof Process>> {
  const { engine } = ctx.server;
  /** Env of processes started here, for List (the port reports argv and cwd, not env). */
  const envs = new Map<string, Record<string, string>>();

  const handleOf = async (sandboxId: string, selector: ProcessSelector | undefined): Promise<ProcessHandle> => {
    const s = selector?.selector;
    if (s?.case === 'pid') return engine.processes.get(sandboxId, s.value);
    if (s?.case === 'tag') return engine.processes.get(sandboxId, s.value);
    throw new ConnectError('A process selector (pid or tag) is required.', Code.InvalidArgument);
  };
  const unary = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw toConnectError(err);
    }
  };

  return {
    async *start(request, context) {
      const call = envdCall(context);
      const config = request.process;
      if (!config?.cmd) throw new ConnectError('process.cmd is required.', Code.InvalidArgument);
      const size = request.pty?.size;
      // Start's deadline is the process's lifetime limit (envd kills it then), not only the stream's.
      const timeoutMs = context.timeoutMs();
      const user = call.user;
      const spec: ExecSpec = {
        cmd: config.cmd,
        args: config.args,
        env: config.envs,
        keepStdinOpen: size !== undefined || request.stdin !== false,
        ...(config.cwd !== undefined ? { cwd: config.cwd } : user ? { cwd: homeOf(user) } : {}),
        ...(user ? { user } : {}),
        ...(request.tag !== undefined ? { tag: request.tag } : {}),
        ...(size ? { pty: { cols: size.cols || 80, rows: size.rows || 24 } } : {}),
        ...(timeoutMs !== undefined && timeoutMs > 0 ? { timeoutMs } : {}),
      };
      let handle: ProcessHandle;
      try {
        handle = await engine.processes.start(call.sandboxId, spec);
      } catch (err) {
        throw toConnectError(err);
      }
      const key = `${call.sandboxId}:${handle.pid}`;
      envs.set(key, config.envs);
      void handle.wait().then(() => envs.delete(key), () => envs.delete(key));
      yield* processEvents(handle, 1, context);
    },

    // Connect replays the output still buffered, then follows (a superset of envd's live-only view).
    async *connect(request, context) {
      const handle = await handleOf(envdCall(context).sandboxId, request.process).catch((err: unknown) => {
        throw toConnectError(err);
      });
      yield* processEvents(handle, 1, context);
    },

    list: (_request, context) =>
      unary(async () => {
        const { sandboxId } = envdCall(context);
        liveSandbox(ctx, sandboxId);
        const processes = (await engine.processes.list(sandboxId)).filter((p) => p.running);
        return {
          processes: processes.map((p) => ({
            pid: p.pid,
            config: { cmd: p.cmd, args: p.args, envs: envs.get(`${sandboxId}:${p.pid}`) ?? {}, ...(p.cwd !== null ? { cwd: p.cwd } : {}) },
            ...(p.tag !== null ? { tag: p.tag } : {}),
          })),
        };
      }),

    sendInput: (request, context) =>
      unary(async () => {
        const handle = await handleOf(envdCall(context).sandboxId, request.process);
        const input = request.input?.input;
        if (input?.case === 'stdin' || input?.case === 'pty') await handle.writeStdin(input.value);
        return {};
      }),

    sendSignal: (request, context) =>
      unary(async () => {
        const { sandboxId } = envdCall(context);
        const name = SIGNAL_NAMES[request.signal];
        if (!name) throw new ConnectError('signal must be SIGNAL_SIGKILL or SIGNAL_SIGTERM.', Code.InvalidArgument);
        const handle = await handleOf(sandboxId, request.process);
        await engine.processes.signal(sandboxId, handle.pid, name);
        return {};
      }),

    closeStdin: (request, context) =>
      unary(async () => {
        await (await handleOf(envdCall(context).sandboxId, request.process)).closeStdin();
        return {};
      }),

    update: (request, context) =>
      unary(async () => {
        const size = request.pty?.size;
        if (size) await (await handleOf(envdCall(context).sandboxId, request.process)).resize(size.cols, size.rows);
        return {};
      }),
  };
}
