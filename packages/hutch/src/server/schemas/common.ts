/**
 * Schema helpers shared by every route: the error body (with every stable code as an enum, so the
 * OpenAPI document names them all), `$ref`s to shared component schemas, path parameters, and the
 * `default` error response every route declares.
 */
import { ERROR_CODES } from '@hutch/protocol';
import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** `{code, message, details?}`: the body of every API error. */
export const ErrorBodySchema = Type.Object(
  {
    code: Type.Union(
      ERROR_CODES.map((code) => Type.Literal(code)),
      { description: 'Stable error code (see docs/errors.md); the HTTP status comes from the one status table.' },
    ),
    message: Type.String({ description: 'What happened and what to do. Never carries secrets or host paths.' }),
    details: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'Typed, non-secret context (e.g. `{from, to}`, `{field}`).' })),
  },
  { $id: 'Error', additionalProperties: false },
);

/** A `$ref` to a shared component schema (registered with `app.addSchema`), typed as the schema. */
export function ref<T extends TSchema>(schema: T): T {
  if (!schema.$id) throw new TypeError('ref() needs a schema with an $id');
  return Type.Unsafe<Static<T>>({ $ref: `${schema.$id}#` }) as unknown as T;
}

/** The responses every route has besides its success: any error, as `Error`. */
export const errorResponses = { default: ref(ErrorBodySchema) };

export const SandboxIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128, description: 'Sandbox id.' }) }, { additionalProperties: false });
export type SandboxIdParams = Static<typeof SandboxIdParams>;

export const ProcessParams = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 128, description: 'Sandbox id.' }),
    pid: Type.String({ minLength: 1, maxLength: 128, description: 'Process id inside the sandbox, or the tag given at start.' }),
  },
  { additionalProperties: false },
);
export type ProcessParams = Static<typeof ProcessParams>;

/** Process id from a path parameter: a number, or the tag the process was started with. */
export function pidOrTag(value: string): number | string {
  return /^\d+$/.test(value) ? Number(value) : value;
}

export const StringMap = Type.Record(Type.String(), Type.String());

/** Description fragment for stream routes. */
export const STREAM_NOTE = 'NDJSON by default (`application/x-ndjson`, one JSON frame per line); SSE (`event: <type>`, `data: <json>`) with `Accept: text/event-stream`. A `keepalive` frame is sent every 15 s.';

/** Response content of a stream route, for the OpenAPI document. */
export function streamResponse(frame: TSchema, description: string, json?: TSchema) {
  return {
    description,
    content: {
      ...(json ? { 'application/json': { schema: json } } : {}),
      'application/x-ndjson': { schema: frame },
      'text/event-stream': { schema: frame },
    },
  };
}
