/** Schemas of the network routes: the decision log and its query. The policy is in sandbox.ts. */
import { Type } from '@sinclair/typebox';

const decisionProperties = {
    seq: Type.Integer(),
    at: Type.String({ format: 'date-time' }),
    kind: Type.Union([Type.Literal('dns'), Type.Literal('connect')]),
    host: Type.Union([Type.String(), Type.Null()], { description: 'Name attributed (SNI, Host or the sandbox DNS answers).' }),
    ip: Type.Union([Type.String(), Type.Null()]),
    port: Type.Union([Type.Integer(), Type.Null()]),
    verdict: Type.Union([Type.Literal('allow'), Type.Literal('deny'), Type.Literal('audit')], { description: '`audit`: would have been blocked; passed in audit mode.' }),
    rule: Type.String({ description: '`rules[i]`, `mode:internet`, `mode:none`, `default` or `host_guard`.' }),
    injected: Type.Optional(Type.Array(Type.String(), { description: 'Names of secrets injected (never values).' })),
};

export const NetworkDecisionSchema = Type.Object(decisionProperties, { $id: 'NetworkDecision', additionalProperties: false });

/** A decision as a stream frame (`type: "decision"`; `keepalive` frames come between). */
export const NetworkDecisionFrameSchema = Type.Object({ type: Type.Literal('decision'), ...decisionProperties }, { $id: 'NetworkDecisionFrame', additionalProperties: false });

export const DecisionsQuery = Type.Object(
  {
    after: Type.Optional(Type.Integer({ minimum: 0, description: 'Only decisions with a larger sequence number.' })),
    follow: Type.Optional(Type.Boolean({ description: 'Stream stored then live decisions until the client disconnects.' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
  },
  { additionalProperties: false },
);
