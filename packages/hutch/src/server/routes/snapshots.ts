/**
 * Snapshot routes: capture a sandbox (running, paused or stopped), list, get, delete, restore into
 * a new sandbox, and fork (restore N times). Restored sandboxes come with their own access tokens.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { SnapshotKind } from '../../domain/snapshot.js';
import type { ServerContext } from '../context.js';
import { errorResponses, ref, SandboxIdParams } from '../schemas/common.js';
import { CreateSnapshotBody, ForkBody, ListSnapshotsQuery, SnapshotInfoSchema, SnapshotParams } from '../schemas/resources.js';
import { CreatedSandboxSchema, CreateSandboxBodySchema, IdempotencyHeaders, type CreateSandboxBody } from '../schemas/sandbox.js';
import { withAccessToken } from './sandboxes.js';

const tags = ['snapshots'];

type Sid = { sid: string };

export function snapshotRoutes(ctx: ServerContext) {
  const { engine } = ctx;
  return async function routes(app: FastifyInstance): Promise<void> {
    app.post<{ Params: SandboxIdParams; Body: { kind?: SnapshotKind } }>(
      '/v1/sandboxes/:id/snapshots',
      { config: { optionalBody: true }, schema: { tags, summary: 'Snapshot a sandbox (running, paused or stopped). Kind defaults to `continuation`.', params: SandboxIdParams, body: CreateSnapshotBody, response: { 201: ref(SnapshotInfoSchema), ...errorResponses } } },
      async (request, reply) => reply.code(201).send(await engine.snapshots.create(request.params.id, request.body.kind ? { kind: request.body.kind } : {})),
    );

    app.get<{ Querystring: { sandboxId?: string } }>(
      '/v1/snapshots',
      { schema: { tags, summary: 'List snapshots, optionally of one sandbox.', querystring: ListSnapshotsQuery, response: { 200: { type: 'array', items: ref(SnapshotInfoSchema) }, ...errorResponses } } },
      async (request) => engine.snapshots.list(request.query.sandboxId ? { sandboxId: request.query.sandboxId } : {}),
    );

    app.get<{ Params: Sid }>(
      '/v1/snapshots/:sid',
      { schema: { tags, summary: 'One snapshot.', params: SnapshotParams, response: { 200: ref(SnapshotInfoSchema), ...errorResponses } } },
      async (request) => engine.snapshots.get(request.params.sid),
    );

    app.delete<{ Params: Sid }>(
      '/v1/snapshots/:sid',
      { schema: { tags, summary: 'Delete a snapshot and its artifact.', params: SnapshotParams, response: { 204: { type: 'null', description: 'Deleted.' }, ...errorResponses } } },
      async (request, reply) => {
        await engine.snapshots.delete(request.params.sid);
        return reply.code(204).send();
      },
    );

    app.get<{ Params: Sid }>(
      '/v1/snapshots/:sid/export',
      {
        schema: {
          tags,
          summary: 'Download a snapshot as a portable file (import it on any Hutch server with the same backend).',
          params: SnapshotParams,
          response: { 200: { description: 'The snapshot file.', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } }, ...errorResponses },
        },
      },
      async (request, reply) => {
        const bytes = await engine.snapshots.export(request.params.sid);
        reply.header('content-type', 'application/octet-stream');
        reply.header('content-disposition', `attachment; filename="${request.params.sid}.hutchsnap"`);
        return reply.send(Readable.from(bytes, { objectMode: false }));
      },
    );

    // Import takes the file as the raw body, streamed (no parser reads it first).
    await app.register(async (upload) => {
      upload.removeAllContentTypeParsers();
      upload.addContentTypeParser('*', (_request, _payload, done) => done(null));
      upload.post(
        '/v1/snapshots/import',
        {
          config: { rawBody: true },
          schema: { tags, summary: 'Import a snapshot file made by export; its size and sha256 are checked before anything is kept.', response: { 201: ref(SnapshotInfoSchema), ...errorResponses } },
        },
        async (request, reply) => reply.code(201).send(await engine.snapshots.import(request.raw)),
      );
    });

    app.post<{ Params: Sid; Body: CreateSandboxBody; Headers: IdempotencyHeaders }>(
      '/v1/snapshots/:sid/restore',
      {
        config: { optionalBody: true },
        schema: {
          tags,
          summary: 'Create a sandbox from a snapshot (its backend and template; other settings inherited unless given).',
          params: SnapshotParams,
          headers: IdempotencyHeaders,
          body: ref(CreateSandboxBodySchema),
          response: { 201: ref(CreatedSandboxSchema), ...errorResponses },
        },
      },
      async (request, reply) => {
        const key = request.headers['idempotency-key'];
        const info = await engine.snapshots.restore(request.params.sid, { ...request.body, ...(key ? { idempotencyKey: key } : {}) });
        return reply.code(201).send(withAccessToken(ctx, info));
      },
    );

    app.post<{ Params: Sid; Body: CreateSandboxBody & { count: number } }>(
      '/v1/snapshots/:sid/fork',
      { schema: { tags, summary: 'Create `count` sandboxes from one snapshot.', params: SnapshotParams, body: ForkBody, response: { 201: { type: 'array', items: ref(CreatedSandboxSchema) }, ...errorResponses } } },
      async (request, reply) => {
        const { count, ...rest } = request.body;
        const infos = await engine.snapshots.fork(request.params.sid, count, rest);
        return reply.code(201).send(infos.map((info) => withAccessToken(ctx, info)));
      },
    );
  };
}
