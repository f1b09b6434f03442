/**
 * Template routes: build (log lines streamed, then the template), list, get, delete. Builds run on
 * the server host (Debian's archive, RUN steps in a user namespace) and are content-addressed: an
 * unchanged recipe is a no-op. Without a template store on the server every route answers
 * `capability_missing`.
 */
import type { FastifyInstance } from 'fastify';
import { CapabilityMissingError } from '../../domain/errors.js';
import type { TemplateCatalog } from '../../engine/templates.js';
import type { ServerContext } from '../context.js';
import { errorResponses, ref, STREAM_NOTE, streamResponse } from '../schemas/common.js';
import { TemplateBuildFrame, TemplateInfoSchema, TemplateParams, TemplateRecipeSchema, type TemplateRecipeBody } from '../schemas/template.js';
import { sendFrames } from '../streaming/reply-stream.js';
import type { TemplateInfo } from '../../templates/store.js';

const tags = ['templates'];

export function templateRoutes(ctx: ServerContext) {
  const catalog = (): TemplateCatalog => {
    if (!ctx.engine.templates) throw new CapabilityMissingError('templates', 'server', 'build or list templates (start the server with a template store)');
    return ctx.engine.templates;
  };
  return async function routes(app: FastifyInstance): Promise<void> {
    app.post<{ Body: TemplateRecipeBody; Querystring: { stream?: boolean } }>(
      '/v1/templates',
      {
        schema: {
          tags,
          summary: 'Build a template from another template (or Debian) plus steps; unchanged recipes are reused.',
          description: `Streams build log lines then the template (\`done\`) unless \`stream=false\`. ${STREAM_NOTE}`,
          querystring: { type: 'object', properties: { stream: { type: 'boolean', default: true } }, additionalProperties: false },
          body: ref(TemplateRecipeSchema),
          response: { 200: streamResponse(ref(TemplateBuildFrame), 'Build frames: `log` lines, then `done` with the template (or `error`).', ref(TemplateInfoSchema)), ...errorResponses },
        },
      },
      async (request, reply) => {
        const store = catalog();
        if (request.query.stream === false) return store.build(request.body, () => undefined);
        return sendFrames(request, reply, () => buildFrames(store, request.body), ctx);
      },
    );

    app.get('/v1/templates', { schema: { tags, summary: 'List templates.', response: { 200: { type: 'array', items: ref(TemplateInfoSchema) }, ...errorResponses } } }, async () => catalog().list());

    app.get<{ Params: { name: string } }>(
      '/v1/templates/:name',
      { schema: { tags, summary: 'One template.', params: TemplateParams, response: { 200: ref(TemplateInfoSchema), ...errorResponses } } },
      async (request) => catalog().get(request.params.name),
    );

    app.delete<{ Params: { name: string } }>(
      '/v1/templates/:name',
      { schema: { tags, summary: 'Delete a template name; its files go once no sandbox or snapshot uses them.', params: TemplateParams, response: { 204: { type: 'null', description: 'Deleted.' }, ...errorResponses } } },
      async (request, reply) => {
        await catalog().delete(request.params.name);
        return reply.code(204).send();
      },
    );
  };
}

type BuildFrame = { type: 'log'; line: string } | { type: 'done'; template: TemplateInfo };

/** Runs a build, yielding its log lines as they come and the result last. */
async function* buildFrames(store: TemplateCatalog, recipe: TemplateRecipeBody): AsyncGenerator<BuildFrame> {
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  let finished = false;
  const build = store
    .build(recipe, (line) => {
      lines.push(line);
      wake?.();
    })
    .finally(() => {
      finished = true;
      wake?.();
    });
  build.catch(() => undefined);
  for (;;) {
    while (lines.length) yield { type: 'log', line: lines.shift()! };
    if (finished) break;
    await new Promise<void>((resolve) => (wake = resolve));
  }
  yield { type: 'done', template: await build };
}
