/** @hutch/protocol: the wire contract shared by the Hutch server and its clients. */
export { ERROR_CODES, HTTP_STATUS, isErrorCode } from './error-codes.js';
export type { ErrorCode, ErrorBody } from './error-codes.js';
export type {
  CommandResult,
  CreateSandboxBody,
  CreatedSandbox,
  ExecBody,
  FileEntry,
  FileEvent,
  NetworkDecision,
  NetworkPolicy,
  NetworkRule,
  SandboxSecret,
  SecretInjection,
  ProcessExit,
  ProcessFrame,
  ProcessInfo,
  Resources,
  SandboxEvent,
  SandboxInfo,
  SandboxList,
  SandboxState,
  SandboxStats,
  SessionFrame,
  SessionInfo,
  SnapshotInfo,
  TerminationReason,
} from './wire.js';
export type { CheckpointInfo, CodebaseInfo, CommitResult, PermissionLevel, PermissionRule, WorkspaceChange, WorkspacePreset, WorkspaceRequest } from './workspace.js';
