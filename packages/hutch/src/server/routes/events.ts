/**
 * Sandbox events: the stored ring (`after` a sequence number), or with `follow=true` a stream of
 * stored then live events until the client disconnects.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { errorResponses, ref, SandboxIdParams, STREAM_NOTE, streamResponse } from '../schemas/common.js';
import { EventsQuery, SandboxEventSchema } from '../schemas/resources.js';
import { sendFrames } from '../streaming/reply-stream.js';

export function eventRoutes(ctx: ServerContext) {
  const { engine } = ctx;
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get<{ Params: SandboxIdParams; Querystring: { after?: number; follow?: boolean; limit?: number } }>(
      '/v1/sandboxes/:id/events',
      {
        schema: {
          tags: ['events'],
          summary: 'Lifecycle events of a sandbox, oldest first; with `follow=true`, a stream that stays open for new ones.',
          description: `With \`follow=true\`: ${STREAM_NOTE}`,
          params: SandboxIdParams,
          querystring: EventsQuery,
          response: { 200: streamResponse(ref(SandboxEventSchema), 'An array of events, or with `follow=true` a stream of them.', { type: 'array', items: ref(SandboxEventSchema) } as never), ...errorResponses },
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        const { after, follow, limit } = request.query;
        if (!follow) return engine.events({ sandboxId: id, ...(after !== undefined ? { afterSeq: after } : {}), ...(limit !== undefined ? { limit } : {}) });
        const filter = { sandboxId: id, ...(after !== undefined ? { afterSeq: after } : {}) };
        engine.get(id); // an unknown sandbox is a 404 here, before the stream starts
        return sendFrames(request, reply, (signal) => engine.followEvents(filter, signal), ctx);
      },
    );
  };
}
