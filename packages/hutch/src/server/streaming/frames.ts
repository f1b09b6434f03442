/**
 * Engine streams → wire frames (packages/protocol ProcessFrame / SessionFrame): bytes become base64,
 * a process stream starts with `start` and ends with `exit`.
 */
import type { ProcessFrame, SessionFrame } from '@hutch/protocol';
import type { SessionFrame as EngineSessionFrame } from '../../engine/sessions.js';
import type { ProcessHandle } from '../../port/isolation-backend.js';

/** `start`, every output chunk from `fromSeq`, then `exit` once the process has ended. */
export async function* processFrames(handle: ProcessHandle, fromSeq: number, signal: AbortSignal): AsyncGenerator<ProcessFrame> {
  yield { type: 'start', pid: handle.pid };
  for await (const chunk of handle.output(fromSeq, { signal })) {
    yield { type: 'output', stream: chunk.stream, seq: chunk.seq, data: Buffer.from(chunk.data).toString('base64') };
  }
  const exit = await handle.wait({ signal });
  yield { type: 'exit', exitCode: exit.exitCode, signal: exit.signal, reason: exit.reason };
}

/** A session command's frames with base64 data. */
export async function* sessionFrames(source: AsyncIterable<EngineSessionFrame>): AsyncGenerator<SessionFrame> {
  for await (const frame of source) {
    if (frame.type === 'exit') yield { type: 'exit', exitCode: frame.exitCode };
    else yield { type: 'output', stream: frame.stream, data: Buffer.from(frame.data).toString('base64') };
  }
}
