/**
 * The backend port: the one contract every isolation tier implements (fake, process, container,
 * microvm). The engine is its only caller; the conformance suite (test/conformance) decides whether
 * a backend honours it.
 *
 * Vocabulary
 * - sandbox id: chosen by the engine (`sbx_…`), unique for the life of the data directory.
 * - runtime record: backend-owned JSON the engine persists verbatim so the backend can find a
 *   sandbox again after a server restart (`adopt`) or clean up after it (`reclaim`). It may hold
 *   host paths; the engine never shows it to clients and never writes it to the journal.
 * - planning vs acting: `create` prepares (directories, config) and launches nothing; only
 *   `start` and `exec` start processes.
 *
 * Contract, per method (what must fail, and how)
 * - every method taking an id throws `SandboxNotFoundError` for an id it does not know.
 * - `start`, `stop`, `pause`, `resume` throw `InvalidTransitionError` from a state that does not
 *   allow the move (the engine checks first; the backend checks again, it owns the truth).
 * - `exec` on a sandbox that is not running throws `InvalidTransitionError`. A non-zero exit is a
 *   result (`ProcessExit`), never an error; a timeout ends the process with reason `timeout`.
 * - file methods take sandbox paths; any `..` component or a resolution leaving the sandbox root
 *   throws `PathEscapeError`; a missing path throws `FileNotFoundError`.
 * - `destroy` and `reclaim` never throw for leftovers they cannot remove: they report
 *   `repair_needed` with a redacted summary. Processes still running end with `sandbox_destroyed`.
 * - `reclaim` must work with only the id (the record may be `{}`), since a crash can happen between
 *   the journal's intent and the record being saved.
 * - optional abilities (pause, snapshot, pty, ...) are announced in `capabilities()`; a backend that
 *   lacks one throws `CapabilityMissingError` if called anyway.
 */
import type { Duplex } from 'node:stream';
import type { CapabilityReport } from './capabilities.js';
import type { NetworkDecision, NetworkPolicy, RuntimeRecord, SandboxSpec, SandboxStats } from '../domain/sandbox.js';
import type { ExecSpec, OutputChunk, ProcessExit, ProcessInfo, SignalName } from '../domain/process.js';
import type { FileEntry, FileEvent } from '../domain/files.js';
import type { SnapshotArtifact, SnapshotKind } from '../domain/snapshot.js';

export interface CallOptions {
  signal?: AbortSignal;
}

export type CleanupStatus = 'completed' | 'repair_needed';

export interface CleanupResult {
  status: CleanupStatus;
  /** Redacted: no host paths, no secrets. */
  summary: string;
}

/** What `adopt` found for a sandbox that existed before a restart. */
export type AdoptOutcome = { status: 'adopted'; state: 'running' | 'paused' | 'stopped'; record: RuntimeRecord } | { status: 'gone'; reason: string };

/** A live (or finished) process inside a sandbox. */
export interface ProcessHandle {
  /** The real pid inside the sandbox's pid namespace. */
  readonly pid: number;
  info(): ProcessInfo;
  /** Ordered output from `fromSeq` (default 1: all that is still buffered), then live until exit. */
  output(fromSeq?: number, options?: CallOptions): AsyncIterable<OutputChunk>;
  /** Throws `InvalidTransitionError` once stdin is closed or the process has exited. */
  writeStdin(data: Uint8Array): Promise<void>;
  closeStdin(): Promise<void>;
  /** Delivers a signal to the process; SIGKILL reaches its whole process group (its children too). */
  signal(signal: SignalName): Promise<void>;
  /** PTY processes only. */
  resize(cols: number, rows: number): Promise<void>;
  /** Resolves when the process has exited and its output has ended. */
  wait(options?: CallOptions): Promise<ProcessExit>;
}

export interface WriteFileOptions {
  /** Permission bits for a new file (default 0o644). */
  mode?: number;
  /** Create missing parent directories (default true). */
  parents?: boolean;
}

export interface IsolationBackend {
  /** Registry name: `fake`, `process`, `container`, `microvm`. */
  readonly name: string;

  capabilities(options?: CallOptions): Promise<CapabilityReport>;

  // lifecycle
  /** Prepares a sandbox (root, mounts, network, cgroups). Launches nothing. */
  create(spec: SandboxSpec, options?: CallOptions): Promise<RuntimeRecord>;
  /** Starts a created or stopped sandbox. Returns the updated runtime record. */
  start(sandboxId: string, options?: CallOptions): Promise<RuntimeRecord>;
  /** Stops every process; the filesystem is kept and `start` brings the sandbox back. */
  stop(sandboxId: string, options?: CallOptions): Promise<RuntimeRecord>;
  /** Freezes every process (running → paused). */
  pause(sandboxId: string, options?: CallOptions): Promise<void>;
  resume(sandboxId: string, options?: CallOptions): Promise<void>;
  /** Kills everything and removes every host resource of the sandbox. */
  destroy(sandboxId: string, options?: CallOptions): Promise<CleanupResult>;

  // processes
  exec(sandboxId: string, spec: ExecSpec, options?: CallOptions): Promise<ProcessHandle>;
  /** Processes started through `exec` that the backend still tracks (running or recently exited). */
  listProcesses(sandboxId: string): Promise<ProcessInfo[]>;
  /** Reattaches to a process started through `exec`; throws `ProcessNotFoundError`. */
  getProcess(sandboxId: string, pid: number): Promise<ProcessHandle>;
  stats(sandboxId: string, options?: CallOptions): Promise<SandboxStats>;

  // files (sandbox paths; see the contract above)
  readFile(sandboxId: string, path: string, options?: CallOptions): Promise<AsyncIterable<Uint8Array>>;
  writeFile(sandboxId: string, path: string, data: Uint8Array | AsyncIterable<Uint8Array>, options?: WriteFileOptions & CallOptions): Promise<FileEntry>;
  listFiles(sandboxId: string, path: string, options?: { depth?: number } & CallOptions): Promise<FileEntry[]>;
  stat(sandboxId: string, path: string, options?: CallOptions): Promise<FileEntry>;
  mkdir(sandboxId: string, path: string, options?: { parents?: boolean } & CallOptions): Promise<FileEntry>;
  move(sandboxId: string, from: string, to: string, options?: CallOptions): Promise<FileEntry>;
  remove(sandboxId: string, path: string, options?: { recursive?: boolean } & CallOptions): Promise<void>;
  /** Yields changes under `path` until the signal aborts or the consumer stops. */
  watch(sandboxId: string, path: string, options?: { recursive?: boolean } & CallOptions): AsyncIterable<FileEvent>;

  // snapshots
  /** Captures the sandbox's filesystem (and memory where the capability says so). */
  snapshot(sandboxId: string, request: { snapshotId: string; kind: SnapshotKind }, options?: CallOptions): Promise<SnapshotArtifact>;
  /** Prepares a new sandbox (as `create` does) whose state comes from `artifact`. */
  restore(artifact: SnapshotArtifact, spec: SandboxSpec, options?: CallOptions): Promise<RuntimeRecord>;
  deleteSnapshot(artifact: SnapshotArtifact, options?: CallOptions): Promise<void>;
  /** Optional (`snapshot.export`): the artifact's bytes, to move it to a file or another host. */
  exportSnapshot?(artifact: SnapshotArtifact, options?: CallOptions): Promise<AsyncIterable<Uint8Array>>;
  /**
   * Optional (`snapshot.export`): stores bytes from `exportSnapshot` as a new artifact. Throws
   * `BadRequestError` when they do not match `expected` size and sha256 (nothing is kept then).
   */
  importSnapshot?(expected: Omit<SnapshotArtifact, 'location' | 'backend'>, data: AsyncIterable<Uint8Array>, options?: CallOptions): Promise<SnapshotArtifact>;

  // network
  /**
   * Optional (`network.port_forward`): opens a TCP connection to `port` on the loopback of a running
   * sandbox and returns it as a byte stream (destroy it to close). Throws `PortNotOpenError` when
   * nothing listens there and `InvalidTransitionError` when the sandbox is not running.
   */
  connectPort?(sandboxId: string, port: number, options?: CallOptions): Promise<Duplex>;
  /**
   * Optional (`network.egress_rules`): replaces the network policy of a created, running, paused
   * or stopped sandbox; connections and lookups started after it returns are judged by it (the
   * egress path starts if the sandbox had none). The engine validates the policy first.
   */
  updateNetwork?(sandboxId: string, policy: NetworkPolicy, options?: CallOptions): Promise<void>;
  /** Optional (`network.egress_rules`): the sandbox's egress decisions after `afterSeq`, oldest first (a bounded ring). */
  networkDecisions?(sandboxId: string, query?: { afterSeq?: number; limit?: number }): Promise<NetworkDecision[]>;
  /** Optional (`network.egress_rules`): stored then live decisions until the signal aborts. */
  followNetworkDecisions?(sandboxId: string, afterSeq: number, signal: AbortSignal): AsyncIterable<NetworkDecision>;

  // recovery
  /** Re-attaches to a sandbox that survived a server restart, or reports it gone. */
  adopt(sandboxId: string, record: RuntimeRecord, options?: CallOptions): Promise<AdoptOutcome>;
  /** Removes whatever a dead sandbox left behind (process, mount, cgroup, netns, files). */
  reclaim(sandboxId: string, record: RuntimeRecord, options?: CallOptions): Promise<CleanupResult>;

  /** Releases the backend's own resources (watchers, timers). Sandboxes are left running. */
  close(): Promise<void>;
}
