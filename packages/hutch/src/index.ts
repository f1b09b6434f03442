/**
 * The embedding API: run Hutch's engine inside your own Node.js process, without the HTTP server.
 *
 *   const registry = new BackendRegistry().register(createFakeBackend());
 *   const engine = await Engine.open({ dataDir: '/var/lib/hutch', registry });
 *   const { id } = await engine.lifecycle.create({ timeoutMs: 60_000 });
 *   const { stdout } = await engine.processes.run(id, { shell: 'echo hi' });
 */
export { Engine } from './engine/engine.js';
export type { EngineOptions, ListSandboxesOptions } from './engine/engine.js';
export type { CreateSandboxRequest } from './engine/create-request.js';
export type { SandboxEvent } from './engine/events.js';
export type { JournalRecord } from './engine/journal.js';
export type { SessionInfo, SessionFrame } from './engine/sessions.js';
export type { TemplateResolver } from './engine/lifecycle.js';
export { BackendRegistry } from './port/registry.js';
export type { IsolationBackend, ProcessHandle, CleanupResult, AdoptOutcome } from './port/isolation-backend.js';
export { CAPABILITIES, hasCapability } from './port/capabilities.js';
export type { Capability, CapabilityReport } from './port/capabilities.js';
export { createFakeBackend, FakeBackend } from './backends/fake/index.js';
export type { FakeBackendOptions, FakeScript } from './backends/fake/index.js';
export {
  HutchError,
  BadRequestError,
  SandboxNotFoundError,
  ProcessNotFoundError,
  SessionNotFoundError,
  SnapshotNotFoundError,
  FileNotFoundError,
  InvalidTransitionError,
  AlreadyExistsError,
  CapacityRejectedError,
  CapabilityMissingError,
  UnsupportedHostError,
  PathEscapeError,
  ProcessTimeoutError,
  BackendFailureError,
  RepairNeededError,
  JournalUnavailableError,
  ConflictError,
} from './domain/errors.js';
export type { SandboxInfo, SandboxSpec, SandboxStats, Resources, NetworkPolicy } from './domain/sandbox.js';
export type { WorkspaceRequest, WorkspaceChange, CheckpointInfo, CommitResult, PermissionRule, PermissionLevel, PresetName } from './domain/workspace.js';
export { createWorkspaceProvider, type CodebaseInfo } from './workspaces/index.js';
export type { SandboxState } from './domain/sandbox-state.js';
export type { ExecSpec, CommandResult, ProcessInfo, ProcessExit, OutputChunk, TerminationReason, SignalName } from './domain/process.js';
export type { FileEntry, FileEvent } from './domain/files.js';
export type { SnapshotInfo, SnapshotKind } from './domain/snapshot.js';
