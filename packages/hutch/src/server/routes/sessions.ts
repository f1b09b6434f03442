/**
 * Shell session routes: create, list, get, run a command (collected, or streamed with
 * `?stream=true`), destroy. A session keeps cwd, env and background jobs across commands.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { errorResponses, ref, SandboxIdParams, STREAM_NOTE, streamResponse } from '../schemas/common.js';
import { CommandResultSchema, CreateSessionBody, SessionExecBody, SessionExecQuery, SessionFrameSchema, SessionInfoSchema, SessionParams } from '../schemas/process.js';
import { sessionFrames } from '../streaming/frames.js';
import { sendFrames } from '../streaming/reply-stream.js';

const tags = ['sessions'];

type Params = { id: string; sid: string };

export function sessionRoutes(ctx: ServerContext) {
  const { engine } = ctx;
  return async function routes(app: FastifyInstance): Promise<void> {
    app.post<{ Params: SandboxIdParams; Body: { cwd?: string; env?: Record<string, string> } }>(
      '/v1/sandboxes/:id/sessions',
      { config: { optionalBody: true }, schema: { tags, summary: 'Start a persistent shell session (running only).', params: SandboxIdParams, body: CreateSessionBody, response: { 201: ref(SessionInfoSchema), ...errorResponses } } },
      async (request, reply) => reply.code(201).send(await engine.sessions.create(request.params.id, request.body)),
    );

    app.get<{ Params: SandboxIdParams }>(
      '/v1/sandboxes/:id/sessions',
      { schema: { tags, summary: 'Sessions of a sandbox.', params: SandboxIdParams, response: { 200: { type: 'array', items: ref(SessionInfoSchema) }, ...errorResponses } } },
      async (request) => engine.sessions.list(request.params.id),
    );

    app.get<{ Params: Params }>(
      '/v1/sandboxes/:id/sessions/:sid',
      { schema: { tags, summary: 'One session.', params: SessionParams, response: { 200: ref(SessionInfoSchema), ...errorResponses } } },
      async (request) => engine.sessions.get(request.params.id, request.params.sid),
    );

    app.post<{ Params: Params; Body: { command: string; timeoutMs?: number }; Querystring: { stream?: boolean } }>(
      '/v1/sandboxes/:id/sessions/:sid/exec',
      {
        schema: {
          tags,
          summary: 'Run a command in a session (one at a time per session); past timeoutMs the session is destroyed.',
          description: `With \`stream=true\`: ${STREAM_NOTE}`,
          params: SessionParams,
          querystring: SessionExecQuery,
          body: SessionExecBody,
          response: { 200: streamResponse(ref(SessionFrameSchema), 'A `CommandResult`, or with `stream=true` a stream of session frames ending with `exit` (or `error`).', ref(CommandResultSchema)), ...errorResponses },
        },
      },
      async (request, reply) => {
        const { id, sid } = request.params;
        const options = request.body.timeoutMs !== undefined ? { timeoutMs: request.body.timeoutMs } : {};
        if (!request.query.stream) return engine.sessions.exec(id, sid, request.body.command, options);
        engine.sessions.get(id, sid);
        return sendFrames(request, reply, () => sessionFrames(engine.sessions.stream(id, sid, request.body.command, options)), ctx);
      },
    );

    app.delete<{ Params: Params }>(
      '/v1/sandboxes/:id/sessions/:sid',
      { schema: { tags, summary: 'Destroy a session: its shell and process group are killed.', params: SessionParams, response: { 204: { type: 'null', description: 'Destroyed.' }, ...errorResponses } } },
      async (request, reply) => {
        await engine.sessions.destroy(request.params.id, request.params.sid);
        return reply.code(204).send();
      },
    );
  };
}
