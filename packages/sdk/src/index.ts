/** @hutch/sdk: a typed client for a Hutch server. */
export { CommandHandle } from './command-handle.js';
export type { CommandHandleOptions, SignalName } from './command-handle.js';
export { Codebases } from './codebases.js';
export type { CodebaseReadOptions } from './codebases.js';
export { Commands, execBody } from './commands.js';
export type { BackgroundCommandOptions, Command, CommandOptions, ConnectOptions } from './commands.js';
export { composeSignal, ConnectionConfig, DEFAULT_API_URL, DEFAULT_REQUEST_TIMEOUT_MS } from './connection-config.js';
export type { CallOptions, ConnectionOptions } from './connection-config.js';
export type { SandboxCreateOptions } from './create-options.js';
export {
  AuthenticationError,
  CapacityRejectedError,
  ConnectionError,
  errorFromBody,
  errorFromFrame,
  errorFromResponse,
  HutchApiError,
  HutchClientError,
  InvalidTransitionError,
  NotFoundError,
  ProtocolError,
  RequestTimeoutError,
  TimeoutError,
} from './errors.js';
export type { ClientErrorCode } from './errors.js';
export { Filesystem } from './filesystem.js';
export type { ReadOptions, WatchOptions, WriteData, WriteOptions } from './filesystem.js';
export { decodeBase64, encodeBase64 } from './frames.js';
export type { CommandFrame, ExitFrame, OutputFrame, SessionCommandFrame } from './frames.js';
export { HttpClient } from './http-client.js';
export type { HttpRequest } from './http-client.js';
export { parseNdjson } from './ndjson.js';
export type { NdjsonOptions } from './ndjson.js';
export type { CommandResult, OutputCallbacks } from './output-collector.js';
export { Sandbox } from './sandbox.js';
export type { EventsOptions, SandboxConnectOptions, SandboxListOptions } from './sandbox.js';
export { SandboxSnapshots } from './sandbox-snapshots.js';
export type { SnapshotKind } from './sandbox-snapshots.js';
export { SandboxWorkspace } from './sandbox-workspace.js';
export type { ChangesOptions, CommitOptions, RevertOptions } from './sandbox-workspace.js';
export { getCapabilities, getHealth } from './server-info.js';
export type { CapabilityReport, HealthInfo } from './server-info.js';
export { Session, Sessions } from './sessions.js';
export type { SessionCreateOptions, SessionRunOptions } from './sessions.js';
export { Snapshots } from './snapshots.js';
export { Template } from './templates.js';
export type { TemplateInfo, TemplateRecipe, TemplateStep } from './templates.js';
export type {
  CheckpointInfo,
  CodebaseInfo,
  CommitResult,
  ErrorCode,
  FileEntry,
  FileEvent,
  NetworkDecision,
  NetworkPolicy,
  NetworkRule,
  PermissionLevel,
  PermissionRule,
  SandboxSecret,
  SecretInjection,
  ProcessExit,
  ProcessInfo,
  Resources,
  SandboxEvent,
  SandboxInfo,
  SandboxList,
  SandboxState,
  SandboxStats,
  SessionInfo,
  SnapshotInfo,
  TerminationReason,
  WorkspaceChange,
  WorkspacePreset,
  WorkspaceRequest,
} from '@hutch/protocol';
