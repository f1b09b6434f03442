/**
 * Sandbox routes: create (with `Idempotency-Key`), list, get, destroy, pause/resume/stop/start,
 * timeout and stats. One engine call per route; responses go through their schemas.
 */
import type { FastifyInstance } from 'fastify';
import type { SandboxInfo } from '../../domain/sandbox.js';
import type { ListSandboxesOptions } from '../../engine/engine.js';
import type { ServerContext } from '../context.js';
import { errorResponses, ref, SandboxIdParams } from '../schemas/common.js';
import {
  CreatedSandboxSchema,
  CreateSandboxBodySchema,
  IdempotencyHeaders,
  ListSandboxesQuery,
  SandboxInfoSchema,
  SandboxListSchema,
  SandboxStatsSchema,
  TimeoutBody,
  type CreateSandboxBody,
  type ListSandboxesQuery as ListQuery,
  type TimeoutBody as Timeout,
} from '../schemas/sandbox.js';

const tags = ['sandboxes'];

/** The create response: the sandbox plus a new access token (shown once). */
export function withAccessToken(ctx: ServerContext, info: SandboxInfo): SandboxInfo & { accessToken: string } {
  return { ...info, accessToken: ctx.tokens.issue(info.id) };
}

function listOptions(query: ListQuery): ListSandboxesOptions {
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) if (key.startsWith('metadata.') && typeof value === 'string') metadata[key.slice('metadata.'.length)] = value;
  const options: ListSandboxesOptions = { metadata };
  if (query.state) options.state = query.state.split(',').map((s) => s.trim()).filter(Boolean) as ListSandboxesOptions['state'] & string[];
  if (query.backend) options.backend = query.backend;
  if (query.limit !== undefined) options.limit = query.limit;
  if (query.cursor) options.cursor = query.cursor;
  return options;
}

const TRANSITIONS = [
  { verb: 'pause', summary: 'Pause a sandbox (running only): its processes are frozen.' },
  { verb: 'resume', summary: 'Resume a sandbox (paused or stopped only).' },
  { verb: 'stop', summary: 'Stop a sandbox (running only): every process ends, files are kept.' },
  { verb: 'start', summary: 'Start a stopped sandbox again (stopped only).' },
] as const;

export function sandboxRoutes(ctx: ServerContext) {
  const { engine } = ctx;
  return async function routes(app: FastifyInstance): Promise<void> {
    app.post<{ Body: CreateSandboxBody; Headers: IdempotencyHeaders }>(
      '/v1/sandboxes',
      {
        config: { optionalBody: true },
        schema: {
          tags,
          summary: 'Create a sandbox and start it. A retry with the same `Idempotency-Key` returns the same sandbox (with a new access token).',
          headers: IdempotencyHeaders,
          body: ref(CreateSandboxBodySchema),
          response: { 201: ref(CreatedSandboxSchema), ...errorResponses },
        },
      },
      async (request, reply) => {
        const key = request.headers['idempotency-key'];
        const info = await engine.lifecycle.create({ ...request.body, ...(key ? { idempotencyKey: key } : {}) });
        return reply.code(201).send(withAccessToken(ctx, info));
      },
    );

    app.get<{ Querystring: ListQuery }>(
      '/v1/sandboxes',
      { schema: { tags, summary: 'List sandboxes, oldest first, one page at a time (tombstones included until they expire).', querystring: ListSandboxesQuery, response: { 200: ref(SandboxListSchema), ...errorResponses } } },
      async (request) => engine.list(listOptions(request.query)),
    );

    app.get<{ Params: SandboxIdParams }>(
      '/v1/sandboxes/:id',
      { schema: { tags, summary: 'Get a sandbox (any state, tombstones included).', params: SandboxIdParams, response: { 200: ref(SandboxInfoSchema), ...errorResponses } } },
      async (request) => engine.get(request.params.id),
    );

    app.delete<{ Params: SandboxIdParams }>(
      '/v1/sandboxes/:id',
      { schema: { tags, summary: 'Destroy a sandbox (any live state; idempotent on a destroyed one).', params: SandboxIdParams, response: { 200: ref(SandboxInfoSchema), ...errorResponses } } },
      async (request) => engine.lifecycle.destroy(request.params.id),
    );

    for (const { verb, summary } of TRANSITIONS) {
      app.post<{ Params: SandboxIdParams }>(
        `/v1/sandboxes/:id/${verb}`,
        { schema: { tags, summary, params: SandboxIdParams, response: { 200: ref(SandboxInfoSchema), ...errorResponses } } },
        async (request) => engine.lifecycle[verb](request.params.id),
      );
    }

    app.post<{ Params: SandboxIdParams; Body: Timeout }>(
      '/v1/sandboxes/:id/timeout',
      { schema: { tags, summary: 'Move the deadline to now + timeoutMs (0 clears it). Running, paused or stopped only.', params: SandboxIdParams, body: TimeoutBody, response: { 200: ref(SandboxInfoSchema), ...errorResponses } } },
      async (request) => engine.lifecycle.setTimeout(request.params.id, request.body.timeoutMs),
    );

    app.get<{ Params: SandboxIdParams }>(
      '/v1/sandboxes/:id/stats',
      { schema: { tags, summary: 'Current resource usage (running or paused only).', params: SandboxIdParams, response: { 200: ref(SandboxStatsSchema), ...errorResponses } } },
      async (request) => engine.stats(request.params.id),
    );
  };
}
