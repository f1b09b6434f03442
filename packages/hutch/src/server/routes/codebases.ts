/**
 * Codebase routes: upload a tree (tar, optionally gzip'd; streamed), list, get, delete, and the
 * files of a codebase (list, stat, download, upload, remove; paths confined to the codebase, `..`
 * refused, links never leave it) plus the whole tree as a tar. Adding a directory of the server
 * host is local-CLI only. Without a codebase store every route answers `capability_missing`.
 */
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { errorResponses, ref } from '../schemas/common.js';
import { FileEntrySchema } from '../schemas/resources.js';
import { CodebaseInfoSchema, CodebaseListQuery, CodebaseParams, CodebasePathQuery, CodebaseUploadQuery, CodebaseWriteQuery } from '../schemas/workspace.js';

const tags = ['codebases'];
type Params = { codebase: string };
const binary = (description: string) => ({ description, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } });

export function codebaseRoutes(ctx: ServerContext) {
  const store = () => ctx.engine.workspaces.codebases;
  return async function routes(app: FastifyInstance): Promise<void> {
    // Raw bodies (a tar, a file) reach the handlers unread and are streamed to the store.
    await app.register(async (upload) => {
      upload.removeAllContentTypeParsers();
      upload.addContentTypeParser('*', (_request, _payload, done) => done(null));
      upload.post<{ Querystring: { name: string } }>(
        '/v1/codebases',
        {
          schema: {
            tags,
            summary: 'Upload a tree as a new codebase: the body is a tar archive (gzip allowed), streamed.',
            querystring: CodebaseUploadQuery,
            response: { 201: ref(CodebaseInfoSchema), ...errorResponses },
          },
        },
        async (request, reply) => reply.code(201).send(await store().addTar(request.query.name, request.raw)),
      );
      upload.put<{ Params: Params; Querystring: { path: string; mode?: string } }>(
        '/v1/codebases/:codebase/files',
        {
          schema: { tags, summary: 'Upload a file into a codebase (raw body, streamed); parent directories are created.', params: CodebaseParams, querystring: CodebaseWriteQuery, response: { 200: ref(FileEntrySchema), ...errorResponses } },
        },
        async (request) => {
          const { path, mode } = request.query;
          return store().writeFile(request.params.codebase, path, request.raw, mode !== undefined ? parseInt(mode, 8) : undefined);
        },
      );
    });

    app.get('/v1/codebases', { schema: { tags, summary: 'List codebases.', response: { 200: { type: 'array', items: ref(CodebaseInfoSchema) }, ...errorResponses } } }, async () => store().list());

    app.get<{ Params: Params }>(
      '/v1/codebases/:codebase',
      { schema: { tags, summary: 'One codebase (by id or name).', params: CodebaseParams, response: { 200: ref(CodebaseInfoSchema), ...errorResponses } } },
      async (request) => store().get(request.params.codebase),
    );

    app.delete<{ Params: Params }>(
      '/v1/codebases/:codebase',
      { schema: { tags, summary: 'Delete a codebase. Sandboxes using it keep their workspace; they can no longer commit.', params: CodebaseParams, response: { 204: { type: 'null', description: 'Deleted.' }, ...errorResponses } } },
      async (request, reply) => {
        await store().delete(request.params.codebase);
        return reply.code(204).send();
      },
    );

    app.get<{ Params: Params }>(
      '/v1/codebases/:codebase/archive',
      { schema: { tags, summary: 'Download the whole codebase as a tar archive (streamed).', params: CodebaseParams, response: { 200: binary('A tar archive.'), ...errorResponses } } },
      async (request, reply) => {
        const info = await store().get(request.params.codebase);
        const data = await store().exportTar(info.id);
        reply.header('content-type', 'application/x-tar');
        reply.header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(`${info.name}.tar`)}`);
        return reply.send(Readable.from(data, { objectMode: false }));
      },
    );

    app.get<{ Params: Params; Querystring: { path: string } }>(
      '/v1/codebases/:codebase/files',
      { schema: { tags, summary: 'Download a file of a codebase (raw bytes, streamed).', params: CodebaseParams, querystring: CodebasePathQuery, response: { 200: binary('The file\'s bytes.'), ...errorResponses } } },
      async (request, reply) => {
        const chunks = await store().readFile(request.params.codebase, request.query.path);
        reply.header('content-type', 'application/octet-stream');
        reply.header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(posix.basename(request.query.path) || 'download')}`);
        return reply.send(Readable.from(chunks, { objectMode: false }));
      },
    );

    app.delete<{ Params: Params; Querystring: { path: string } }>(
      '/v1/codebases/:codebase/files',
      { schema: { tags, summary: 'Remove a file or directory (recursively) from a codebase.', params: CodebaseParams, querystring: CodebasePathQuery, response: { 204: { type: 'null', description: 'Removed.' }, ...errorResponses } } },
      async (request, reply) => {
        await store().removeFile(request.params.codebase, request.query.path);
        return reply.code(204).send();
      },
    );

    app.get<{ Params: Params; Querystring: { path: string; depth?: number } }>(
      '/v1/codebases/:codebase/files/list',
      { schema: { tags, summary: 'List a directory of a codebase (to `depth` levels, default 1).', params: CodebaseParams, querystring: CodebaseListQuery, response: { 200: { type: 'array', items: ref(FileEntrySchema) }, ...errorResponses } } },
      async (request) => store().listFiles(request.params.codebase, request.query.path, request.query.depth ?? 1),
    );
  };
}
