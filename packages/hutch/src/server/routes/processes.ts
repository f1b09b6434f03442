/**
 * Process routes: exec (stream until exit), start in the background (or run to completion with
 * `?wait=true`), list, get, reattach to output, stdin, signals and PTY resize. A `{pid}` may also
 * be the tag a process was started with. The PTY WebSocket lives in pty.ts.
 */
import type { FastifyInstance } from 'fastify';
import { BadRequestError } from '../../domain/errors.js';
import type { ExecSpec, SignalName } from '../../domain/process.js';
import type { ServerContext } from '../context.js';
import { errorResponses, pidOrTag, ProcessParams, ref, SandboxIdParams, STREAM_NOTE, streamResponse } from '../schemas/common.js';
import {
  CommandResultSchema,
  ExecBodySchema,
  OutputQuery,
  ProcessesQuery,
  ProcessFrameSchema,
  ProcessInfoSchema,
  ResizeBody,
  SignalBody,
  StdinBody,
  type ExecBody,
} from '../schemas/process.js';
import { processFrames } from '../streaming/frames.js';
import { sendFrames } from '../streaming/reply-stream.js';

const tags = ['processes'];

/** The wire exec body as the engine's spec (stdin text → bytes). Exactly one of `cmd` or `shell`. */
export function toExecSpec(body: ExecBody): ExecSpec {
  if ((body.cmd === undefined) === (body.shell === undefined)) throw new BadRequestError('Give exactly one of cmd or shell.', { field: body.cmd === undefined ? 'cmd' : 'shell' });
  const { stdin, ...rest } = body;
  return { ...rest, ...(stdin !== undefined ? { stdin: Buffer.from(stdin, 'utf8') } : {}) };
}

const noContent = { 204: { type: 'null', description: 'Done.' }, ...errorResponses };

export function processRoutes(ctx: ServerContext) {
  const { engine } = ctx;
  return async function routes(app: FastifyInstance): Promise<void> {
    app.post<{ Params: SandboxIdParams; Body: ExecBody }>(
      '/v1/sandboxes/:id/exec',
      {
        schema: {
          tags,
          summary: 'Run a process and stream its output until it exits (running only).',
          description: STREAM_NOTE,
          params: SandboxIdParams,
          body: ref(ExecBodySchema),
          response: { 200: streamResponse(ref(ProcessFrameSchema), 'Process frames: start, output…, exit (or error).'), ...errorResponses },
        },
      },
      async (request, reply) => {
        const handle = await engine.processes.start(request.params.id, toExecSpec(request.body));
        return sendFrames(request, reply, (signal) => processFrames(handle, 1, signal), ctx);
      },
    );

    app.post<{ Params: SandboxIdParams; Body: ExecBody; Querystring: { wait?: boolean } }>(
      '/v1/sandboxes/:id/processes',
      {
        schema: {
          tags,
          summary: 'Start a process in the background (running only); with `wait=true`, run it to completion and return its output.',
          params: SandboxIdParams,
          querystring: ProcessesQuery,
          body: ref(ExecBodySchema),
          response: { 200: ref(CommandResultSchema), 201: ref(ProcessInfoSchema), ...errorResponses },
        },
      },
      async (request, reply) => {
        const spec = toExecSpec(request.body);
        if (request.query.wait) return reply.code(200).send(await engine.processes.run(request.params.id, spec));
        const handle = await engine.processes.start(request.params.id, spec);
        return reply.code(201).send(handle.info());
      },
    );

    app.get<{ Params: SandboxIdParams }>(
      '/v1/sandboxes/:id/processes',
      { schema: { tags, summary: 'Processes of a sandbox: live ones and ended ones still remembered.', params: SandboxIdParams, response: { 200: { type: 'array', items: ref(ProcessInfoSchema) }, ...errorResponses } } },
      async (request) => engine.processes.list(request.params.id),
    );

    app.get<{ Params: ProcessParams }>(
      '/v1/sandboxes/:id/processes/:pid',
      { schema: { tags, summary: 'One process, by pid or tag (running sandboxes only).', params: ProcessParams, response: { 200: ref(ProcessInfoSchema), ...errorResponses } } },
      async (request) => (await engine.processes.get(request.params.id, pidOrTag(request.params.pid))).info(),
    );

    app.get<{ Params: ProcessParams; Querystring: { from?: number } }>(
      '/v1/sandboxes/:id/processes/:pid/output',
      {
        schema: {
          tags,
          summary: 'Reattach to a process: replay its buffered output from `from`, then follow it until exit.',
          description: STREAM_NOTE,
          params: ProcessParams,
          querystring: OutputQuery,
          response: { 200: streamResponse(ref(ProcessFrameSchema), 'Process frames: start, output…, exit (or error).'), ...errorResponses },
        },
      },
      async (request, reply) => {
        const handle = await engine.processes.get(request.params.id, pidOrTag(request.params.pid));
        return sendFrames(request, reply, (signal) => processFrames(handle, request.query.from ?? 1, signal), ctx);
      },
    );

    app.post<{ Params: ProcessParams; Body: { data: string } }>(
      '/v1/sandboxes/:id/processes/:pid/stdin',
      { schema: { tags, summary: 'Write bytes (base64) to a process\'s stdin (started with keepStdinOpen).', params: ProcessParams, body: StdinBody, response: noContent } },
      async (request, reply) => {
        const handle = await engine.processes.get(request.params.id, pidOrTag(request.params.pid));
        await handle.writeStdin(Buffer.from(request.body.data, 'base64'));
        return reply.code(204).send();
      },
    );

    app.post<{ Params: ProcessParams }>(
      '/v1/sandboxes/:id/processes/:pid/stdin/close',
      { schema: { tags, summary: 'Close a process\'s stdin (EOF).', params: ProcessParams, response: noContent } },
      async (request, reply) => {
        await (await engine.processes.get(request.params.id, pidOrTag(request.params.pid))).closeStdin();
        return reply.code(204).send();
      },
    );

    app.post<{ Params: ProcessParams; Body: { signal: SignalName } }>(
      '/v1/sandboxes/:id/processes/:pid/signal',
      { schema: { tags, summary: 'Send a signal to a process.', params: ProcessParams, body: SignalBody, response: noContent } },
      async (request, reply) => {
        const handle = await engine.processes.get(request.params.id, pidOrTag(request.params.pid));
        await engine.processes.signal(request.params.id, handle.pid, request.body.signal);
        return reply.code(204).send();
      },
    );

    app.post<{ Params: ProcessParams; Body: { cols: number; rows: number } }>(
      '/v1/sandboxes/:id/processes/:pid/resize',
      { schema: { tags, summary: 'Resize the PTY of a process started with `pty`.', params: ProcessParams, body: ResizeBody, response: noContent } },
      async (request, reply) => {
        const handle = await engine.processes.get(request.params.id, pidOrTag(request.params.pid));
        await engine.processes.resize(request.params.id, handle.pid, request.body.cols, request.body.rows);
        return reply.code(204).send();
      },
    );
  };
}
