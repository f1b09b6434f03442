/**
 * Schemas of codebases and sandbox workspaces (changes, checkpoints, revert, commit) on the wire.
 * Adding a codebase from a server host directory is not on the API (local CLI only): a client
 * cannot read the server's files.
 */
import { Type, type Static } from '@sinclair/typebox';

export const PermissionRuleSchema = Type.Object(
  {
    pattern: Type.String({ minLength: 1, maxLength: 1024, description: 'Relative to the codebase root; see docs/workspaces.md.' }),
    type: Type.Optional(Type.Union([Type.Literal('glob'), Type.Literal('directory'), Type.Literal('file')])),
    level: Type.Union([Type.Literal('none'), Type.Literal('view'), Type.Literal('read'), Type.Literal('write')]),
    priority: Type.Optional(Type.Integer({ minimum: -1000, maximum: 1000 })),
  },
  { additionalProperties: false },
);

export const WorkspaceRequestSchema = Type.Object(
  {
    codebase: Type.String({ minLength: 1, maxLength: 64, description: 'Codebase id or name.' }),
    path: Type.Optional(Type.String({ minLength: 2, maxLength: 4096, pattern: '^/', description: 'Where it appears in the sandbox (default /workspace).' })),
    preset: Type.Optional(Type.Union([Type.Literal('agent-safe'), Type.Literal('read-only'), Type.Literal('full')], { description: 'Rules to start from (default agent-safe when no rules are given).' })),
    rules: Type.Optional(Type.Array(PermissionRuleSchema, { maxItems: 256 })),
  },
  { additionalProperties: false, description: 'A codebase mounted copy-on-write under path rules (capability `workspaces`).' },
);

export const CodebaseInfoSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    sizeBytes: Type.Number(),
    fileCount: Type.Number(),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'CodebaseInfo', additionalProperties: false },
);

export const WorkspaceChangeSchema = Type.Object(
  {
    path: Type.String({ description: 'Relative to the workspace root.' }),
    kind: Type.Union([Type.Literal('added'), Type.Literal('modified'), Type.Literal('deleted')]),
    type: Type.Union([Type.Literal('file'), Type.Literal('dir'), Type.Literal('symlink')]),
    size: Type.Union([Type.Number(), Type.Null()]),
    previousSize: Type.Union([Type.Number(), Type.Null()]),
    diff: Type.Optional(Type.String({ description: 'Unified diff (text files only).' })),
  },
  { $id: 'WorkspaceChange', additionalProperties: false },
);

export const CheckpointInfoSchema = Type.Object(
  { name: Type.String(), createdAt: Type.String({ format: 'date-time' }), changeCount: Type.Number() },
  { $id: 'CheckpointInfo', additionalProperties: false },
);

export const CommitResultSchema = Type.Object(
  {
    committed: Type.Array(Type.String()),
    skipped: Type.Array(Type.Object({ path: Type.String(), reason: Type.String() }, { additionalProperties: false })),
  },
  { $id: 'CommitResult', additionalProperties: false },
);

export const CodebaseParams = Type.Object({ codebase: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
export const CodebaseUploadQuery = Type.Object({ name: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,62}$', description: 'The new codebase\'s name.' }) }, { additionalProperties: false });
export const CodebasePathQuery = Type.Object({ path: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false });
export const CodebaseListQuery = Type.Object({ path: Type.String({ minLength: 1, maxLength: 4096, default: '/' }), depth: Type.Optional(Type.Integer({ minimum: 1, maximum: 32 })) }, { additionalProperties: false });
export const CodebaseWriteQuery = Type.Object({ path: Type.String({ minLength: 1, maxLength: 4096 }), mode: Type.Optional(Type.String({ pattern: '^[0-7]{3,4}$' })) }, { additionalProperties: false });

export const ChangesQuery = Type.Object(
  {
    since: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'A checkpoint name or `start` (default: the last commit, or the start).' })),
    diff: Type.Optional(Type.Boolean({ default: true, description: 'Include unified diffs of text files.' })),
  },
  { additionalProperties: false },
);
export const CheckpointBody = Type.Object({ name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$' }) }, { additionalProperties: false });
export const RevertBody = Type.Object(
  {
    paths: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { maxItems: 10_000, description: 'Paths (and what is below them) to revert; absent: all.' })),
    to: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'A checkpoint name or `start` (default: the last commit, or the start).' })),
  },
  { additionalProperties: false },
);
export const CommitBody = Type.Object(
  { paths: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { maxItems: 10_000, description: 'Paths (and what is below them) to commit; absent: all.' })) },
  { additionalProperties: false },
);
export type RevertBodyType = Static<typeof RevertBody>;
export type CommitBodyType = Static<typeof CommitBody>;
