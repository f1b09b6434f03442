/**
 * Schemas of files, snapshots, events and the system routes on the wire.
 */
import { Type } from '@sinclair/typebox';
import { CreateSandboxBodySchema } from './sandbox.js';

const SandboxPath = Type.String({ minLength: 1, maxLength: 4096, description: 'Path inside the sandbox (relative paths start at the workdir).' });

export const FileEntrySchema = Type.Object(
  {
    name: Type.String(),
    path: Type.String(),
    type: Type.Union([Type.Literal('file'), Type.Literal('dir'), Type.Literal('symlink'), Type.Literal('other')]),
    size: Type.Number(),
    mode: Type.Integer({ description: 'Permission bits (e.g. 420 = 0o644).' }),
    modifiedAt: Type.String({ format: 'date-time' }),
    symlinkTarget: Type.Optional(Type.String()),
  },
  { $id: 'FileEntry', additionalProperties: false },
);

export const FileEventSchema = Type.Union(
  [
    Type.Object({ type: Type.Union(['create', 'write', 'remove', 'rename', 'chmod'].map((t) => Type.Literal(t))), path: Type.String() }),
    Type.Object({ type: Type.Literal('error'), code: Type.String(), message: Type.String() }),
    Type.Object({ type: Type.Literal('keepalive') }),
  ],
  { $id: 'FileEvent' },
);

export const PathQuery = Type.Object({ path: SandboxPath }, { additionalProperties: false });
export const WriteFileQuery = Type.Object(
  { path: SandboxPath, mode: Type.Optional(Type.String({ pattern: '^0?[0-7]{3,4}$', description: 'Octal permission bits for a new file, e.g. `644` or `0755`.' })) },
  { additionalProperties: false },
);
export const RemoveFileQuery = Type.Object({ path: SandboxPath, recursive: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
export const ListFilesQuery = Type.Object({ path: SandboxPath, depth: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })) }, { additionalProperties: false });
export const WatchQuery = Type.Object({ path: SandboxPath, recursive: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
export const MkdirBody = Type.Object({ path: SandboxPath, parents: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
export const MoveBody = Type.Object({ from: SandboxPath, to: SandboxPath }, { additionalProperties: false });

export const SnapshotKindSchema = Type.Union([Type.Literal('template'), Type.Literal('continuation'), Type.Literal('pause')]);

export const SnapshotInfoSchema = Type.Object(
  {
    id: Type.String(),
    sandboxId: Type.String(),
    backend: Type.String(),
    kind: SnapshotKindSchema,
    template: Type.Union([Type.String(), Type.Null()]),
    sizeBytes: Type.Number(),
    sha256: Type.String(),
    memory: Type.Boolean(),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'SnapshotInfo', additionalProperties: false },
);

export const CreateSnapshotBody = Type.Object({ kind: Type.Optional(SnapshotKindSchema) }, { additionalProperties: false });
export const SnapshotParams = Type.Object({ sid: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false });
export const ListSnapshotsQuery = Type.Object({ sandboxId: Type.Optional(Type.String()) }, { additionalProperties: false });
export const ForkBody = Type.Object(
  { ...CreateSandboxBodySchema.properties, count: Type.Integer({ minimum: 1, maximum: 100 }) },
  { additionalProperties: false },
);

export const SandboxEventSchema = Type.Object(
  { seq: Type.Integer(), sandboxId: Type.String(), type: Type.String(), data: Type.Object({}, { additionalProperties: true }), at: Type.String({ format: 'date-time' }) },
  { $id: 'SandboxEvent', additionalProperties: false },
);
export const EventsQuery = Type.Object(
  {
    after: Type.Optional(Type.Integer({ minimum: 0, description: 'Only events with a larger sequence number.' })),
    follow: Type.Optional(Type.Boolean({ description: 'Stream stored then live events until the client disconnects.' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
  },
  { additionalProperties: false },
);

export const HealthSchema = Type.Object({ status: Type.Literal('ok'), version: Type.String() }, { additionalProperties: false });

export const CapabilityReportSchema = Type.Object(
  {
    kind: Type.String(),
    version: Type.String(),
    health: Type.Object(
      { status: Type.Union([Type.Literal('healthy'), Type.Literal('degraded'), Type.Literal('unsupported_host')]), reason: Type.Optional(Type.String()), missing: Type.Optional(Type.Array(Type.String())) },
      { additionalProperties: false },
    ),
    platform: Type.Object({ os: Type.String(), arch: Type.String(), kernel: Type.String(), emulated: Type.Boolean() }, { additionalProperties: false }),
    capabilities: Type.Array(Type.String()),
    notes: Type.Record(Type.String(), Type.String()),
  },
  { $id: 'CapabilityReport', additionalProperties: false },
);
export const CapabilitiesQuery = Type.Object({ backend: Type.Optional(Type.String({ minLength: 1 })) }, { additionalProperties: false });
