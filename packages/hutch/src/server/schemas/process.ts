/**
 * Schemas of processes and shell sessions on the wire: exec bodies, read models, command results
 * and the frames of their streams (`ProcessFrame`, `SessionFrame`).
 */
import { Type, type Static } from '@sinclair/typebox';

const SIGNALS = ['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGSTOP', 'SIGCONT'] as const;
const REASONS = ['exited', 'signaled', 'timeout', 'oom', 'sandbox_destroyed', 'lost'] as const;
const Base64 = Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$', description: 'base64' });
const TerminationReasonSchema = Type.Union(REASONS.map((r) => Type.Literal(r)));
const PtySize = Type.Object({ cols: Type.Integer({ minimum: 1, maximum: 1000 }), rows: Type.Integer({ minimum: 1, maximum: 1000 }) }, { additionalProperties: false });

export const ExecBodySchema = Type.Object(
  {
    cmd: Type.Optional(Type.String({ minLength: 1, description: 'Program to run (argv form). Exactly one of `cmd` or `shell`.' })),
    args: Type.Optional(Type.Array(Type.String())),
    shell: Type.Optional(Type.String({ minLength: 1, description: 'Shell command line (run with bash -lc). Exactly one of `cmd` or `shell`.' })),
    cwd: Type.Optional(Type.String({ minLength: 1 })),
    env: Type.Optional(Type.Record(Type.String(), Type.String())),
    user: Type.Optional(Type.String({ minLength: 1 })),
    stdin: Type.Optional(Type.String({ description: 'UTF-8 text written to stdin at start.' })),
    keepStdinOpen: Type.Optional(Type.Boolean()),
    pty: Type.Optional(PtySize),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 0 })),
    tag: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '\\D' , description: 'A name to find the process again (not all digits).' })),
  },
  { $id: 'ExecBody', additionalProperties: false },
);
export type ExecBody = Static<typeof ExecBodySchema>;

export const ProcessExitSchema = Type.Object(
  { exitCode: Type.Union([Type.Integer(), Type.Null()]), signal: Type.Union([Type.String(), Type.Null()]), reason: TerminationReasonSchema },
  { additionalProperties: false },
);

export const ProcessInfoSchema = Type.Object(
  {
    pid: Type.Integer(),
    tag: Type.Union([Type.String(), Type.Null()]),
    cmd: Type.String(),
    args: Type.Array(Type.String()),
    cwd: Type.Union([Type.String(), Type.Null()]),
    pty: Type.Boolean(),
    startedAt: Type.String({ format: 'date-time' }),
    running: Type.Boolean(),
    exit: Type.Union([ProcessExitSchema, Type.Null()]),
  },
  { $id: 'ProcessInfo', additionalProperties: false },
);

export const CommandResultSchema = Type.Object(
  { pid: Type.Integer(), exitCode: Type.Integer(), stdout: Type.String(), stderr: Type.String(), reason: TerminationReasonSchema, durationMs: Type.Number() },
  { $id: 'CommandResult', additionalProperties: false },
);

const ErrorFrame = Type.Object({ type: Type.Literal('error'), code: Type.String(), message: Type.String() });
const KeepaliveFrame = Type.Object({ type: Type.Literal('keepalive') });

export const ProcessFrameSchema = Type.Union(
  [
    Type.Object({ type: Type.Literal('start'), pid: Type.Integer() }),
    Type.Object({ type: Type.Literal('output'), stream: Type.Union([Type.Literal('stdout'), Type.Literal('stderr'), Type.Literal('pty')]), seq: Type.Integer(), data: Base64 }),
    Type.Object({ type: Type.Literal('exit'), exitCode: Type.Union([Type.Integer(), Type.Null()]), signal: Type.Union([Type.String(), Type.Null()]), reason: TerminationReasonSchema }),
    ErrorFrame,
    KeepaliveFrame,
  ],
  { $id: 'ProcessFrame' },
);

export const SessionFrameSchema = Type.Union(
  [
    Type.Object({ type: Type.Literal('output'), stream: Type.Union([Type.Literal('stdout'), Type.Literal('stderr')]), data: Base64 }),
    Type.Object({ type: Type.Literal('exit'), exitCode: Type.Integer() }),
    ErrorFrame,
    KeepaliveFrame,
  ],
  { $id: 'SessionFrame' },
);

export const ProcessesQuery = Type.Object({ wait: Type.Optional(Type.Boolean({ description: 'Run to completion and return a `CommandResult`.' })) }, { additionalProperties: false });
export const OutputQuery = Type.Object({ from: Type.Optional(Type.Integer({ minimum: 1, description: 'First output sequence number to replay (default 1).' })) }, { additionalProperties: false });
export const PtyQuery = Type.Object(
  { from: Type.Optional(Type.Integer({ minimum: 1 })), token: Type.Optional(Type.String({ description: 'API key or access token (browsers cannot set WebSocket headers).' })) },
  { additionalProperties: false },
);
export const StdinBody = Type.Object({ data: Base64 }, { additionalProperties: false });
export const SignalBody = Type.Object({ signal: Type.Union(SIGNALS.map((s) => Type.Literal(s))) }, { additionalProperties: false });
export const ResizeBody = PtySize;

export const SessionInfoSchema = Type.Object(
  { id: Type.String(), sandboxId: Type.String(), pid: Type.Integer(), createdAt: Type.String({ format: 'date-time' }), alive: Type.Boolean() },
  { $id: 'SessionInfo', additionalProperties: false },
);
export const CreateSessionBody = Type.Object({ cwd: Type.Optional(Type.String({ minLength: 1 })), env: Type.Optional(Type.Record(Type.String(), Type.String())) }, { additionalProperties: false });
export const SessionExecBody = Type.Object({ command: Type.String({ minLength: 1 }), timeoutMs: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false });
export const SessionExecQuery = Type.Object({ stream: Type.Optional(Type.Boolean({ description: 'Stream `SessionFrame`s instead of returning a `CommandResult`.' })) }, { additionalProperties: false });
export const SessionParams = Type.Object({ id: Type.String({ minLength: 1 }), sid: Type.String({ minLength: 1 }) }, { additionalProperties: false });
