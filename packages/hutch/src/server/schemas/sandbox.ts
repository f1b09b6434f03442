/**
 * Schemas of sandboxes on the wire (packages/protocol/src/wire.ts): the create body, the read
 * models and stats. Response schemas are allow-lists: only the fields named here leave the server.
 */
import { Type, type Static } from '@sinclair/typebox';
import { StringMap } from './common.js';

const STATES = ['creating', 'running', 'paused', 'stopped', 'failed', 'destroyed'] as const;
export const SandboxStateSchema = Type.Union(STATES.map((s) => Type.Literal(s)));

export const ResourcesSchema = Type.Object(
  {
    vcpus: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'CPU quota in cores (0.5 = half a core).' })),
    memoryMib: Type.Optional(Type.Integer({ minimum: 16 })),
    pids: Type.Optional(Type.Integer({ minimum: 8, description: 'Processes/threads alive at once.' })),
    diskMib: Type.Optional(Type.Integer({ minimum: 1, description: 'Size limit of the writable layer.' })),
  },
  { additionalProperties: false },
);

export const NetworkPolicySchema = Type.Object(
  {
    mode: Type.Union([Type.Literal('none'), Type.Literal('internet')], { description: '`none` (default): loopback only. `internet`: egress to the internet, never to the host.' }),
    exposedPorts: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { maxItems: 64 })),
  },
  { additionalProperties: false },
);

const OnTimeoutSchema = Type.Union([Type.Literal('destroy'), Type.Literal('pause')]);

export const CreateSandboxBodySchema = Type.Object(
  {
    backend: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Backend name; default: the server default.' })),
    template: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    resources: Type.Optional(ResourcesSchema),
    env: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Env for every process. Values are never logged or returned.' })),
    metadata: Type.Optional(Type.Record(Type.String(), Type.String())),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 0, description: 'Deadline from now (default 300000); 0 = none.' })),
    onTimeout: Type.Optional(OnTimeoutSchema),
    network: Type.Optional(NetworkPolicySchema),
    workdir: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'Default cwd of commands (absolute).' })),
  },
  { $id: 'CreateSandboxBody', additionalProperties: false },
);
export type CreateSandboxBody = Static<typeof CreateSandboxBodySchema>;

const sandboxInfoProperties = {
  id: Type.String(),
  backend: Type.String(),
  template: Type.Union([Type.String(), Type.Null()]),
  state: SandboxStateSchema,
  failureReason: Type.Union([Type.String(), Type.Null()]),
  resources: ResourcesSchema,
  network: NetworkPolicySchema,
  metadata: StringMap,
  envKeys: Type.Array(Type.String(), { description: 'Names of the env vars set (values are never reported).' }),
  createdAt: Type.String({ format: 'date-time' }),
  deadlineAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  onTimeout: OnTimeoutSchema,
  destroyedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
};

export const SandboxInfoSchema = Type.Object(sandboxInfoProperties, { $id: 'SandboxInfo', additionalProperties: false });

export const CreatedSandboxSchema = Type.Object(
  { ...sandboxInfoProperties, accessToken: Type.String({ description: 'Opens this sandbox\'s routes (header `X-Access-Token`). Shown once; only its hash is stored.' }) },
  { $id: 'CreatedSandbox', additionalProperties: false },
);

export const SandboxListSchema = Type.Object(
  { items: Type.Array(Type.Object(sandboxInfoProperties, { additionalProperties: false })), nextCursor: Type.Union([Type.String(), Type.Null()]) },
  { $id: 'SandboxList', additionalProperties: false },
);

export const SandboxStatsSchema = Type.Object(
  {
    cpuUsageMs: Type.Number(),
    memoryBytes: Type.Number(),
    memoryLimitBytes: Type.Union([Type.Number(), Type.Null()]),
    pids: Type.Integer(),
    diskBytes: Type.Union([Type.Number(), Type.Null()]),
    at: Type.String({ format: 'date-time' }),
  },
  { $id: 'SandboxStats', additionalProperties: false },
);

export const ListSandboxesQuery = Type.Object(
  {
    state: Type.Optional(Type.String({ description: 'Comma-separated states, e.g. `running,paused`.' })),
    backend: Type.Optional(Type.String()),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Page size (default 100).' })),
    cursor: Type.Optional(Type.String()),
  },
  { additionalProperties: false, patternProperties: { '^metadata\\.': Type.String() }, description: '`metadata.KEY=VALUE` filters by metadata (every given key must match).' },
);
export type ListSandboxesQuery = Static<typeof ListSandboxesQuery> & Record<string, string | number | undefined>;

export const TimeoutBody = Type.Object({ timeoutMs: Type.Integer({ minimum: 0, description: 'New deadline from now; 0 clears it.' }) }, { additionalProperties: false });
export type TimeoutBody = Static<typeof TimeoutBody>;

export const IdempotencyHeaders = Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 256 })) });
export type IdempotencyHeaders = Static<typeof IdempotencyHeaders>;
