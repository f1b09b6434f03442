/**
 * `Sandbox`: the SDK's entry point. Create, connect to, list and restore sandboxes; each instance
 * carries `commands`, `files`, `sessions`, `snapshots` and `workspace`, plus the lifecycle verbs (pause, resume,
 * setTimeout, destroy) and read models (info, stats, events).
 *
 *   const sandbox = await Sandbox.create({ timeoutMs: 60_000 });
 *   const { stdout } = await sandbox.commands.run('echo hi');
 *   await sandbox.destroy();
 */
import type { CreatedSandbox, NetworkDecision, NetworkPolicy, SandboxEvent, SandboxInfo, SandboxList, SandboxState, SandboxStats } from '@hutch/protocol';
import { Commands } from './commands.js';
import { ConnectionConfig, type CallOptions, type ConnectionOptions } from './connection-config.js';
import { createBody, createHeaders, type SandboxCreateOptions } from './create-options.js';
import { errorFromFrame } from './errors.js';
import { Filesystem } from './filesystem.js';
import type { StreamControlFrame } from './frames.js';
import { HttpClient } from './http-client.js';
import { SandboxSnapshots } from './sandbox-snapshots.js';
import { SandboxWorkspace } from './sandbox-workspace.js';
import { Sessions } from './sessions.js';

/** Options of `Sandbox.connect`. */
export interface SandboxConnectOptions extends ConnectionOptions, CallOptions {
  /** The sandbox's access token (from create), used when no API key is configured. */
  accessToken?: string;
}

/** Filters and paging of `Sandbox.list`. */
export interface SandboxListOptions extends ConnectionOptions, CallOptions {
  state?: SandboxState | SandboxState[];
  backend?: string;
  /** Every given key must match exactly. */
  metadata?: Record<string, string>;
  /** Page size (server default 100, at most 1000). */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

/** Options of `sandbox.events` and `sandbox.followEvents`. */
export interface EventsOptions extends CallOptions {
  /** Only events with a sequence number above this one. */
  after?: number;
}

export class Sandbox {
  readonly id: string;
  /** The per-sandbox token returned by create (undefined for a sandbox found by `connect`/`list`). */
  readonly accessToken: string | undefined;
  readonly commands: Commands;
  readonly files: Filesystem;
  readonly sessions: Sessions;
  readonly snapshots: SandboxSnapshots;
  /** Changes, checkpoints, revert and commit of a sandbox created with a `workspace`. */
  readonly workspace: SandboxWorkspace;
  /** The connection settings this sandbox talks through. */
  readonly connectionConfig: ConnectionConfig;
  private latest: SandboxInfo;
  private readonly http: HttpClient;
  private readonly path: string;

  /** @internal Use `Sandbox.create`, `Sandbox.connect` or `Sandbox.fromSnapshot`. */
  constructor(info: SandboxInfo, config: ConnectionConfig, accessToken?: string) {
    this.id = info.id;
    this.latest = info;
    this.accessToken = accessToken;
    this.connectionConfig = config;
    this.http = new HttpClient(config, accessToken);
    this.path = sandboxPath(info.id);
    this.commands = new Commands(this.http, this.path);
    this.files = new Filesystem(this.http, this.path);
    this.sessions = new Sessions(this.http, this.path);
    this.snapshots = new SandboxSnapshots(this.http, info.id);
    this.workspace = new SandboxWorkspace(this.http, this.path);
  }

  /** The id, under the name E2B users know. */
  get sandboxId(): string {
    return this.id;
  }

  /** The sandbox as of the last call that returned it (`getInfo()` refreshes). */
  get info(): SandboxInfo {
    return this.latest;
  }

  /**
   * Creates and starts a sandbox. Throws `CapacityRejectedError` when the server is full,
   * `HutchApiError` with `capability_missing` when the backend cannot honour the request.
   */
  static async create(options: SandboxCreateOptions = {}): Promise<Sandbox> {
    const config = new ConnectionConfig(options);
    const created = await new HttpClient(config).json<CreatedSandbox>({ method: 'POST', path: '/v1/sandboxes', json: createBody(options), headers: createHeaders(options) }, options);
    return Sandbox.fromCreated(created, config);
  }

  /** Attaches to an existing sandbox. Throws `NotFoundError` (`sandbox_not_found`). */
  static async connect(sandboxId: string, options: SandboxConnectOptions = {}): Promise<Sandbox> {
    const config = new ConnectionConfig(options);
    const info = await new HttpClient(config, options.accessToken).json<SandboxInfo>({ method: 'GET', path: sandboxPath(sandboxId) }, options);
    return new Sandbox(info, config, options.accessToken);
  }

  /** One page of sandboxes, oldest first; pass `nextCursor` back as `cursor` for the next page. */
  static async list(options: SandboxListOptions = {}): Promise<SandboxList> {
    const config = new ConnectionConfig(options);
    return new HttpClient(config).json<SandboxList>({ method: 'GET', path: '/v1/sandboxes', query: listQuery(options) }, options);
  }

  /** Every sandbox matching the filters, fetching pages as the loop goes. */
  static async *listAll(options: Omit<SandboxListOptions, 'cursor'> = {}): AsyncGenerator<SandboxInfo, void, undefined> {
    let cursor: string | null | undefined;
    do {
      const page: SandboxList = await Sandbox.list(cursor ? { ...options, cursor } : options);
      yield* page.items;
      cursor = page.nextCursor;
    } while (cursor);
  }

  /** Creates a sandbox from a snapshot. Throws `NotFoundError` (`snapshot_not_found`). */
  static async fromSnapshot(snapshotId: string, options: SandboxCreateOptions = {}): Promise<Sandbox> {
    const config = new ConnectionConfig(options);
    const path = `/v1/snapshots/${encodeURIComponent(snapshotId)}/restore`;
    const created = await new HttpClient(config).json<CreatedSandbox>({ method: 'POST', path, json: createBody(options), headers: createHeaders(options) }, options);
    return Sandbox.fromCreated(created, config);
  }

  /** Destroys a sandbox by id without connecting first. */
  static async destroy(sandboxId: string, options: ConnectionOptions & CallOptions = {}): Promise<SandboxInfo> {
    return new HttpClient(new ConnectionConfig(options)).json<SandboxInfo>({ method: 'DELETE', path: sandboxPath(sandboxId) }, options);
  }

  /** @internal Wraps a create/restore response. */
  static fromCreated(created: CreatedSandbox, config: ConnectionConfig): Sandbox {
    const { accessToken, ...info } = created;
    return new Sandbox(info, config, accessToken);
  }

  /** Refreshes and returns the sandbox's info. */
  async getInfo(options: CallOptions = {}): Promise<SandboxInfo> {
    return this.remember(await this.http.json<SandboxInfo>({ method: 'GET', path: this.path }, options));
  }

  /** Pauses (running only); processes and files are kept. Throws `InvalidTransitionError` otherwise. */
  async pause(options: CallOptions = {}): Promise<SandboxInfo> {
    return this.verb('pause', options);
  }

  /** Resumes a paused sandbox. Throws `InvalidTransitionError` otherwise. */
  async resume(options: CallOptions = {}): Promise<SandboxInfo> {
    return this.verb('resume', options);
  }

  /** Stops a running sandbox (processes end; files stay). */
  async stop(options: CallOptions = {}): Promise<SandboxInfo> {
    return this.verb('stop', options);
  }

  /** Starts a stopped sandbox. */
  async start(options: CallOptions = {}): Promise<SandboxInfo> {
    return this.verb('start', options);
  }

  /** Sets the sandbox's deadline to `timeoutMs` from now. */
  async setTimeout(timeoutMs: number, options: CallOptions = {}): Promise<SandboxInfo> {
    return this.remember(await this.http.json<SandboxInfo>({ method: 'POST', path: `${this.path}/timeout`, json: { timeoutMs } }, options));
  }

  /** Resource usage now. */
  async stats(options: CallOptions = {}): Promise<SandboxStats> {
    return this.http.json<SandboxStats>({ method: 'GET', path: `${this.path}/stats` }, options);
  }

  /** Lifecycle events recorded so far (oldest first). */
  async events(options: EventsOptions = {}): Promise<SandboxEvent[]> {
    return this.http.json<SandboxEvent[]>({ method: 'GET', path: `${this.path}/events`, query: { after: options.after } }, options);
  }

  /** Lifecycle events as they happen (after the recorded ones), until the loop breaks or `signal` aborts. */
  async *followEvents(options: EventsOptions = {}): AsyncGenerator<SandboxEvent, void, undefined> {
    const frames = this.http.ndjson<SandboxEvent | StreamControlFrame>({ method: 'GET', path: `${this.path}/events`, query: { after: options.after, follow: true } }, options);
    for await (const frame of frames) {
      if (frame.type === 'error' && 'code' in frame) throw errorFromFrame(frame);
      if (frame.type !== 'keepalive') yield frame as SandboxEvent;
    }
  }

  /** The network policy in force. */
  async getNetwork(options: CallOptions = {}): Promise<NetworkPolicy> {
    return this.http.json<NetworkPolicy>({ method: 'GET', path: `${this.path}/network` }, options);
  }

  /** Replaces the network policy (running, paused or stopped); new connections use it at once. */
  async updateNetwork(policy: NetworkPolicy, options: CallOptions = {}): Promise<NetworkPolicy> {
    return this.http.json<NetworkPolicy>({ method: 'PUT', path: `${this.path}/network`, json: policy }, options);
  }

  /** Egress decisions recorded so far (a bounded ring, oldest first). */
  async networkDecisions(options: EventsOptions & { limit?: number } = {}): Promise<NetworkDecision[]> {
    return this.http.json<NetworkDecision[]>({ method: 'GET', path: `${this.path}/network/decisions`, query: { after: options.after, limit: options.limit } }, options);
  }

  /** Egress decisions as they happen (after the recorded ones), until the loop breaks or `signal` aborts. */
  async *followNetworkDecisions(options: EventsOptions = {}): AsyncGenerator<NetworkDecision, void, undefined> {
    const frames = this.http.ndjson<(NetworkDecision & { type: 'decision' }) | StreamControlFrame>({ method: 'GET', path: `${this.path}/network/decisions`, query: { after: options.after, follow: true } }, options);
    for await (const frame of frames) {
      if (frame.type === 'error' && 'code' in frame) throw errorFromFrame(frame);
      if (frame.type === 'decision') {
        const { type: _type, ...decision } = frame as NetworkDecision & { type: 'decision' };
        yield decision;
      }
    }
  }

  /** Destroys the sandbox (any state); its processes are killed and its files removed. */
  async destroy(options: CallOptions = {}): Promise<SandboxInfo> {
    return this.remember(await this.http.json<SandboxInfo>({ method: 'DELETE', path: this.path }, options));
  }

  /** Alias of `destroy`, for E2B users. */
  async kill(options: CallOptions = {}): Promise<SandboxInfo> {
    return this.destroy(options);
  }

  private async verb(verb: 'pause' | 'resume' | 'stop' | 'start', options: CallOptions): Promise<SandboxInfo> {
    return this.remember(await this.http.json<SandboxInfo>({ method: 'POST', path: `${this.path}/${verb}` }, options));
  }

  private remember(info: SandboxInfo): SandboxInfo {
    this.latest = info;
    return info;
  }
}

function sandboxPath(sandboxId: string): string {
  if (!sandboxId) throw new TypeError('A sandbox id is required.');
  return `/v1/sandboxes/${encodeURIComponent(sandboxId)}`;
}

function listQuery(options: SandboxListOptions): Record<string, string | number | undefined> {
  const query: Record<string, string | number | undefined> = {
    state: Array.isArray(options.state) ? options.state.join(',') : options.state,
    backend: options.backend,
    limit: options.limit,
    cursor: options.cursor,
  };
  for (const [key, value] of Object.entries(options.metadata ?? {})) query[`metadata.${key}`] = value;
  return query;
}
