/**
 * Schemas of sandboxes on the wire (packages/protocol/src/wire.ts): the create body, the read
 * models and stats. Response schemas are allow-lists: only the fields named here leave the server.
 */
import { WorkspaceRequestSchema } from './workspace.js';
import { Type, type Static } from '@sinclair/typebox';
import { ref, StringMap } from './common.js';

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

export const NetworkRuleSchema = Type.Object(
  {
    action: Type.Union([Type.Literal('allow'), Type.Literal('deny')]),
    domain: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: '`example.com`, `*.example.com` (names below it) or `*`. Exactly one of domain and cidr.' })),
    cidr: Type.Optional(Type.String({ minLength: 7, maxLength: 18, description: 'IPv4 CIDR (`10.0.0.0/8`) or address (= /32).' })),
    ports: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { maxItems: 64, description: 'TCP ports; absent or empty: any.' })),
  },
  { additionalProperties: false },
);

export const SecretInjectionSchema = Type.Object(
  {
    host: Type.String({ minLength: 1, maxLength: 253, description: 'Exact host name the header is added for.' }),
    header: Type.String({ minLength: 1, maxLength: 128 }),
    value: Type.String({ maxLength: 8192, description: 'Header value; `{{secret:NAME}}` is replaced by the secret at the egress proxy.' }),
  },
  { additionalProperties: false },
);

export const NetworkPolicySchema = Type.Object(
  {
    mode: Type.Union([Type.Literal('none'), Type.Literal('internet'), Type.Literal('rules')], {
      description: '`none` (default): loopback only. `internet`: egress anywhere but the host and other sandboxes, minus deny rules. `rules`: only where an allow rule matches and no deny rule does (docs/network.md).',
    }),
    rules: Type.Optional(Type.Array(NetworkRuleSchema, { maxItems: 256, description: 'Deny beats allow.' })),
    audit: Type.Optional(Type.Boolean({ description: 'Log what would be blocked, block nothing (the host guard still applies).' })),
    inject: Type.Optional(Type.Array(SecretInjectionSchema, { maxItems: 64 })),
    exposedPorts: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { maxItems: 64 })),
  },
  { $id: 'NetworkPolicy', additionalProperties: false },
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
    network: Type.Optional(ref(NetworkPolicySchema)),
    secrets: Type.Optional(
      Type.Array(Type.Object({ name: Type.String({ minLength: 1, maxLength: 128 }), value: Type.String({ minLength: 1, maxLength: 8192 }) }, { additionalProperties: false }), {
        maxItems: 64,
        description: 'Secrets for `network.inject`. Write-only: values never enter the sandbox and are never returned, logged or journaled.',
      }),
    ),
    workdir: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'Default cwd of commands (absolute).' })),
    workspace: Type.Optional(WorkspaceRequestSchema),
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
  network: ref(NetworkPolicySchema),
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
    networkEgressBytes: Type.Number({ description: 'Bytes the sandbox sent through its egress proxy.' }),
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
