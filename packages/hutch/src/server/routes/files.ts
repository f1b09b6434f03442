/**
 * File routes (running sandboxes only; paths are sandbox paths, confined by the backend): streamed
 * download and upload, list, stat, mkdir, move, remove and watch. Uploads are never buffered whole:
 * the raw request is handed to the engine as an AsyncIterable of chunks.
 */
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { errorResponses, ref, SandboxIdParams, STREAM_NOTE, streamResponse } from '../schemas/common.js';
import { FileEntrySchema, FileEventSchema, ListFilesQuery, MkdirBody, MoveBody, PathQuery, RemoveFileQuery, WatchQuery, WriteFileQuery } from '../schemas/resources.js';
import { sendFrames } from '../streaming/reply-stream.js';

const tags = ['files'];

type Id = { id: string };

export function fileRoutes(ctx: ServerContext) {
  const { engine } = ctx;
  return async function routes(app: FastifyInstance): Promise<void> {
    // The upload route lives in its own scope with no body parsers but a pass-through for every
    // media type (JSON and text included), so the body reaches the handler unread and is streamed
    // from `request.raw` to the engine.
    await app.register(async (upload) => {
      upload.removeAllContentTypeParsers();
      upload.addContentTypeParser('*', (_request, _payload, done) => done(null));
      upload.put<{ Params: Id; Querystring: { path: string; mode?: string } }>(
        '/v1/sandboxes/:id/files',
        {
          config: { rawBody: true },
          schema: { tags, summary: 'Upload a file (raw body, streamed); parent directories are created.', params: SandboxIdParams, querystring: WriteFileQuery, response: { 200: ref(FileEntrySchema), ...errorResponses } },
        },
        async (request) => {
          const { path, mode } = request.query;
          return engine.files.write(request.params.id, path, request.raw, mode !== undefined ? { mode: parseInt(mode, 8) } : {});
        },
      );
    });

    app.get<{ Params: Id; Querystring: { path: string } }>(
      '/v1/sandboxes/:id/files',
      {
        schema: {
          tags,
          summary: 'Download a file (raw bytes, streamed).',
          params: SandboxIdParams,
          querystring: PathQuery,
          response: { 200: { description: 'The file\'s bytes.', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } }, ...errorResponses },
        },
      },
      async (request, reply) => {
        const controller = new AbortController();
        reply.raw.once('close', () => controller.abort());
        const chunks = await engine.files.read(request.params.id, request.query.path, { signal: controller.signal });
        const name = posix.basename(request.query.path) || 'download';
        reply.header('content-type', 'application/octet-stream');
        reply.header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(name)}`);
        return reply.send(Readable.from(chunks, { objectMode: false }));
      },
    );

    app.delete<{ Params: Id; Querystring: { path: string; recursive?: boolean } }>(
      '/v1/sandboxes/:id/files',
      { schema: { tags, summary: 'Remove a file, or a directory (`recursive=true` when not empty).', params: SandboxIdParams, querystring: RemoveFileQuery, response: { 204: { type: 'null', description: 'Removed.' }, ...errorResponses } } },
      async (request, reply) => {
        await engine.files.remove(request.params.id, request.query.path, { recursive: request.query.recursive ?? false });
        return reply.code(204).send();
      },
    );

    app.get<{ Params: Id; Querystring: { path: string; depth?: number } }>(
      '/v1/sandboxes/:id/files/list',
      { schema: { tags, summary: 'List a directory (to `depth` levels, default 1).', params: SandboxIdParams, querystring: ListFilesQuery, response: { 200: { type: 'array', items: ref(FileEntrySchema) }, ...errorResponses } } },
      async (request) => engine.files.list(request.params.id, request.query.path, request.query.depth !== undefined ? { depth: request.query.depth } : {}),
    );

    app.get<{ Params: Id; Querystring: { path: string } }>(
      '/v1/sandboxes/:id/files/stat',
      { schema: { tags, summary: 'Describe one file or directory.', params: SandboxIdParams, querystring: PathQuery, response: { 200: ref(FileEntrySchema), ...errorResponses } } },
      async (request) => engine.files.stat(request.params.id, request.query.path),
    );

    app.post<{ Params: Id; Body: { path: string; parents?: boolean } }>(
      '/v1/sandboxes/:id/files/mkdir',
      { schema: { tags, summary: 'Create a directory (`parents` creates missing parents).', params: SandboxIdParams, body: MkdirBody, response: { 200: ref(FileEntrySchema), ...errorResponses } } },
      async (request) => engine.files.mkdir(request.params.id, request.body.path, { parents: request.body.parents ?? false }),
    );

    app.post<{ Params: Id; Body: { from: string; to: string } }>(
      '/v1/sandboxes/:id/files/move',
      { schema: { tags, summary: 'Move or rename a file or directory.', params: SandboxIdParams, body: MoveBody, response: { 200: ref(FileEntrySchema), ...errorResponses } } },
      async (request) => engine.files.move(request.params.id, request.body.from, request.body.to),
    );

    app.get<{ Params: Id; Querystring: { path: string; recursive?: boolean } }>(
      '/v1/sandboxes/:id/files/watch',
      {
        schema: {
          tags,
          summary: 'Stream changes under a directory until the client disconnects.',
          description: STREAM_NOTE,
          params: SandboxIdParams,
          querystring: WatchQuery,
          response: { 200: streamResponse(ref(FileEventSchema), 'File events (`create`, `write`, `remove`, `rename`, `chmod`).'), ...errorResponses },
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        const { path, recursive } = request.query;
        // Checked up front so a missing path is a 404, not an error frame.
        await engine.files.stat(id, path);
        return sendFrames(request, reply, (signal) => engine.files.watch(id, path, { recursive: recursive ?? false, signal }), ctx);
      },
    );
  };
}
