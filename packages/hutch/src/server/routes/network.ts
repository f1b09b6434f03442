/**
 * Network routes: read and replace a sandbox's network policy (new connections use a new policy
 * at once), and its egress decision log (`follow=true`: stored then live decisions as a stream).
 */
import type { FastifyInstance } from 'fastify';
import type { NetworkPolicy } from '../../domain/sandbox.js';
import type { ServerContext } from '../context.js';
import { errorResponses, ref, SandboxIdParams, STREAM_NOTE, streamResponse } from '../schemas/common.js';
import { DecisionsQuery, NetworkDecisionFrameSchema, NetworkDecisionSchema } from '../schemas/network.js';
import { NetworkPolicySchema } from '../schemas/sandbox.js';
import { sendFrames } from '../streaming/reply-stream.js';

const tags = ['network'];

export function networkRoutes(ctx: ServerContext) {
  const { engine } = ctx;
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get<{ Params: SandboxIdParams }>(
      '/v1/sandboxes/:id/network',
      { schema: { tags, summary: 'The network policy of a sandbox (any state).', params: SandboxIdParams, response: { 200: ref(NetworkPolicySchema), ...errorResponses } } },
      async (request) => engine.network.get(request.params.id),
    );

    app.put<{ Params: SandboxIdParams; Body: NetworkPolicy }>(
      '/v1/sandboxes/:id/network',
      {
        schema: {
          tags,
          summary: 'Replace the network policy (running, paused or stopped only). Connections and lookups started after the response use it.',
          params: SandboxIdParams,
          body: ref(NetworkPolicySchema),
          response: { 200: ref(NetworkPolicySchema), ...errorResponses },
        },
      },
      async (request) => engine.network.update(request.params.id, request.body),
    );

    app.get<{ Params: SandboxIdParams; Querystring: { after?: number; follow?: boolean; limit?: number } }>(
      '/v1/sandboxes/:id/network/decisions',
      {
        schema: {
          tags,
          summary: 'Egress decisions of a sandbox (a bounded ring, oldest first); with `follow=true`, a stream that stays open for new ones.',
          description: `With \`follow=true\`: ${STREAM_NOTE}`,
          params: SandboxIdParams,
          querystring: DecisionsQuery,
          response: { 200: streamResponse(ref(NetworkDecisionFrameSchema), 'An array of decisions, or with `follow=true` a stream of them.', { type: 'array', items: ref(NetworkDecisionSchema) } as never), ...errorResponses },
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        const { after, follow, limit } = request.query;
        if (!follow) return engine.network.decisions(id, { ...(after !== undefined ? { afterSeq: after } : {}), ...(limit !== undefined ? { limit } : {}) });
        await engine.network.decisions(id, { limit: 1 }); // 404 / capability_missing before the stream starts
        return sendFrames(request, reply, (signal) => followDecisions(engine, id, after ?? 0, signal), ctx);
      },
    );
  };
}

async function* followDecisions(engine: ServerContext['engine'], id: string, after: number, signal: AbortSignal) {
  for await (const decision of await engine.network.follow(id, after, signal)) yield { type: 'decision' as const, ...decision };
}
