/**
 * Exec through the in-sandbox agent (native/hutch-agent.c): one unix connection per command to the
 * agent's socket on the host, a request frame, then output, the in-sandbox pid and the exit status
 * as frames (host/agent-protocol.ts). No host process is spawned, so an exec costs a connect and a
 * fork inside the sandbox. The result is the same `ExecProcess` the launcher path makes.
 *
 * `AgentUnavailableError` means the agent did not take the command (no socket, nobody listening,
 * closed before starting it): the caller may fall back to its launcher, nothing ran.
 */
import net from 'node:net';
import { BackendFailureError } from '../domain/errors.js';
import type { ExecSpec } from '../domain/process.js';
import {
  AgentFrameDecoder, encodeCloseStdin, encodeRequest, encodeResize, encodeSignal, encodeStdin, type AgentRequest,
} from './agent-protocol.js';
import { ExecProcess, signalName, type AgentChannel, type ExecHooks } from './exec-process.js';

export class AgentUnavailableError extends Error {}

/** True when `path` fits a unix socket address (sun_path: 108 bytes with the terminating NUL). */
export function fitsSocketAddress(path: string): boolean {
  return Buffer.byteLength(path) <= 107;
}

export interface AgentLaunch {
  sandboxId: string;
  /** Host path of the agent's listening socket. */
  socketPath: string;
  request: AgentRequest;
  spec: ExecSpec;
  cwd: string;
  hooks: ExecHooks;
  oomBefore: number;
}

/** Connects, or throws `AgentUnavailableError`. */
function connect(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(path);
    const onError = (err: Error) => reject(new AgentUnavailableError(err.message));
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/** Starts `launch.request` through the agent; resolves once its in-sandbox pid is known. */
export async function startAgentProcess(launch: AgentLaunch): Promise<ExecProcess> {
  const { spec } = launch;
  const request = encodeRequest(launch.request);
  const socket = await connect(launch.socketPath);
  socket.setNoDelay(true);
  const send = (frame: Buffer) => {
    if (!socket.destroyed) socket.write(frame);
  };
  const channel: AgentChannel = {
    write: (data) => new Promise<void>((resolve) => {
      const frames = encodeStdin(data);
      if (frames.length === 0 || socket.destroyed) return resolve();
      frames.forEach((f, i) => socket.write(f, i === frames.length - 1 ? () => resolve() : undefined));
    }),
    closeStdin: () => send(encodeCloseStdin()),
    signal: (signo, group) => send(encodeSignal(signo, group)),
    resize: (cols, rows) => send(encodeResize(cols, rows)),
  };
  const proc = new ExecProcess(launch.hooks, spec, launch.cwd, launch.oomBefore, { agent: channel });
  const decoder = new AgentFrameDecoder();
  let exit: { exitCode: number | null; signal: number | null } | undefined;
  let started: (pid: number | Error) => void = () => undefined;
  const pid = new Promise<number | Error>((resolve) => (started = resolve));
  socket.on('data', (chunk: Buffer) => {
    let frames;
    try {
      frames = decoder.push(chunk);
    } catch (err) {
      started(new BackendFailureError(`The sandbox's exec agent sent garbage (${(err as Error).message}).`, { sandboxId: launch.sandboxId }));
      socket.destroy();
      return;
    }
    for (const frame of frames) {
      if (frame.type === 'started') {
        proc.pid = frame.pid;
        started(frame.pid);
      } else if (frame.type === 'stdout' || frame.type === 'stderr') proc.log.append(spec.pty ? 'pty' : frame.type, frame.data);
      else if (frame.type === 'exit') {
        exit = frame;
        socket.end(); // the agent's handler waits for this close before it exits
      }
      else if (frame.type === 'failed') started(new BackendFailureError(`The sandbox's exec agent could not start the command: ${frame.message}.`, { sandboxId: launch.sandboxId }));
    }
  });
  socket.on('error', () => undefined);
  socket.once('close', () => {
    started(new AgentUnavailableError('the agent closed the connection before starting the command'));
    // No exit frame: the agent (or the whole sandbox) was killed under the command.
    const status = exit ?? { exitCode: null, signal: 9 };
    void proc.finish(status.exitCode, status.signal === null ? null : signalName(status.signal) ?? 'SIGKILL');
  });
  socket.write(request);
  const outcome = await pid;
  if (outcome instanceof Error) {
    socket.destroy();
    throw outcome;
  }
  if (spec.stdin) await proc.writeStdin(spec.stdin);
  if (!spec.keepStdinOpen && (spec.pty === undefined || spec.stdin)) await proc.closeStdin();
  return proc;
}
