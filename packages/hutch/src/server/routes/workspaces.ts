/**
 * Workspace routes of a sandbox created with a `workspace` (running, paused or stopped): what the
 * sandbox changed (with unified diffs), named checkpoints, revert (all or some paths, to the last
 * commit, the start or a checkpoint) and commit back to the codebase.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { errorResponses, ref, SandboxIdParams } from '../schemas/common.js';
import { ChangesQuery, CheckpointBody, CheckpointInfoSchema, CommitBody, CommitResultSchema, RevertBody, WorkspaceChangeSchema, type CommitBodyType, type RevertBodyType } from '../schemas/workspace.js';

const tags = ['workspaces'];
type Id = { id: string };
const ChangeList = { type: 'object', properties: { changes: { type: 'array', items: ref(WorkspaceChangeSchema) } }, required: ['changes'], additionalProperties: false };

export function workspaceRoutes(ctx: ServerContext) {
  const { engine } = ctx;
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get<{ Params: Id; Querystring: { since?: string; diff?: boolean } }>(
      '/v1/sandboxes/:id/workspace/changes',
      {
        schema: {
          tags,
          summary: 'Paths added, modified or deleted in the workspace since the last commit (or `since`). Running, paused or stopped only.',
          params: SandboxIdParams,
          querystring: ChangesQuery,
          response: { 200: ChangeList, ...errorResponses },
        },
      },
      async (request) => ({ changes: await engine.workspaces.changes(request.params.id, { ...(request.query.since !== undefined ? { since: request.query.since } : {}), diff: request.query.diff ?? true }) }),
    );

    app.post<{ Params: Id; Body: { name: string } }>(
      '/v1/sandboxes/:id/workspace/checkpoints',
      { schema: { tags, summary: 'Record the workspace as a named checkpoint (replacing one of that name).', params: SandboxIdParams, body: CheckpointBody, response: { 200: ref(CheckpointInfoSchema), ...errorResponses } } },
      async (request) => engine.workspaces.checkpoint(request.params.id, request.body.name),
    );

    app.get<{ Params: Id }>(
      '/v1/sandboxes/:id/workspace/checkpoints',
      { schema: { tags, summary: 'List the workspace\'s checkpoints.', params: SandboxIdParams, response: { 200: { type: 'array', items: ref(CheckpointInfoSchema) }, ...errorResponses } } },
      async (request) => engine.workspaces.checkpoints(request.params.id),
    );

    app.post<{ Params: Id; Body: RevertBodyType }>(
      '/v1/sandboxes/:id/workspace/revert',
      {
        config: { optionalBody: true },
        schema: { tags, summary: 'Revert paths (default all) to the last commit, the start or a checkpoint; returns what was reverted.', params: SandboxIdParams, body: RevertBody, response: { 200: ChangeList, ...errorResponses } },
      },
      async (request) => ({ changes: await engine.workspaces.revert(request.params.id, request.body) }),
    );

    app.post<{ Params: Id; Body: CommitBodyType }>(
      '/v1/sandboxes/:id/workspace/commit',
      {
        config: { optionalBody: true },
        schema: { tags, summary: 'Write the changes since the last commit (default all paths) to the codebase; only `write` paths, last writer wins.', params: SandboxIdParams, body: CommitBody, response: { 200: ref(CommitResultSchema), ...errorResponses } },
      },
      async (request) => engine.workspaces.commit(request.params.id, request.body),
    );
  };
}
