/**
 * The PTY of a process over a WebSocket: binary frames in are stdin, binary frames out are output;
 * a text frame `{"type":"resize","cols","rows"}` resizes. When the process ends the server sends a
 * text frame `{"type":"exit",...}` and closes (1000); on an error, `{"type":"error",code,message}`
 * and close 1011. Credentials may come as `?token=` (browsers cannot set WebSocket headers).
 */
import type { WebSocket } from 'ws';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ProcessHandle } from '../../port/isolation-backend.js';
import type { ServerContext } from '../context.js';
import { errorToResponse, logError } from '../errors.js';
import { errorResponses, pidOrTag, ProcessParams } from '../schemas/common.js';
import { PtyQuery } from '../schemas/process.js';

interface ResizeMessage {
  type: 'resize';
  cols: number;
  rows: number;
}

function parseResize(text: string): ResizeMessage | undefined {
  try {
    const value = JSON.parse(text) as Partial<ResizeMessage>;
    const ok = value.type === 'resize' && Number.isInteger(value.cols) && Number.isInteger(value.rows) && value.cols! > 0 && value.rows! > 0;
    return ok ? (value as ResizeMessage) : undefined;
  } catch {
    // Not JSON: ignored like any unknown text frame (the protocol only defines `resize`).
    return undefined;
  }
}

function toBuffer(data: WebSocket.RawData): Buffer {
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
}

export function ptyRoutes(ctx: ServerContext) {
  const { engine } = ctx;
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get<{ Params: ProcessParams; Querystring: { from?: number; token?: string } }>(
      '/v1/sandboxes/:id/processes/:pid/pty',
      {
        websocket: true,
        config: { queryToken: true },
        schema: {
          tags: ['processes'],
          summary: 'WebSocket: attach to a process\'s PTY (binary in = stdin, binary out = output, text `{"type":"resize","cols","rows"}`).',
          params: ProcessParams,
          querystring: PtyQuery,
          response: { 101: { type: 'null', description: 'Switching to the WebSocket protocol.' }, ...errorResponses },
        },
      },
      (socket: WebSocket, request: FastifyRequest<{ Params: ProcessParams; Querystring: { from?: number; token?: string } }>) => {
        const controller = ctx.streams.acquire();
        const { signal } = controller;
        let failed = false;
        const fail = (error: unknown) => {
          if (signal.aborted || failed) return;
          failed = true;
          const response = errorToResponse(error);
          logError(request.log, error, response);
          if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ type: 'error', code: response.body.code, message: response.body.message }));
          socket.close(1011, response.body.code);
        };
        const attached: Promise<ProcessHandle> = engine.processes.get(request.params.id, pidOrTag(request.params.pid));
        // Handlers are attached synchronously so no frame sent right after the upgrade is lost;
        // writes are chained to keep their order.
        let writes: Promise<unknown> = attached;
        socket.on('message', (data, isBinary) => {
          writes = writes
            .then(async () => {
              const handle = await attached;
              if (isBinary) return handle.writeStdin(toBuffer(data));
              const resize = parseResize(toBuffer(data).toString('utf8'));
              if (resize) return handle.resize(resize.cols, resize.rows);
            })
            .catch(fail);
        });
        socket.on('close', () => {
          controller.abort(new Error('client disconnected'));
          ctx.streams.release(controller);
        });
        signal.addEventListener('abort', () => socket.close(1001, 'closing'), { once: true });
        void (async () => {
          const handle = await attached;
          for await (const chunk of handle.output(request.query.from ?? 1, { signal })) socket.send(chunk.data, { binary: true });
          const exit = await handle.wait({ signal });
          socket.send(JSON.stringify({ type: 'exit', ...exit }));
          socket.close(1000, 'exited');
        })().catch(fail);
      },
    );
  };
}
