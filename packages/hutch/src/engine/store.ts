/**
 * The engine's SQLite store (better-sqlite3, WAL) under the data directory: sandboxes, the journal,
 * events, processes and snapshots. Only this module writes SQL. Env values live in the sandboxes
 * table (they are needed for every exec); the journal and events tables hold redacted data only.
 */
import Database from 'better-sqlite3';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sandboxes (
  id TEXT PRIMARY KEY,
  backend TEXT NOT NULL,
  template TEXT,
  state TEXT NOT NULL,
  failure_reason TEXT,
  resources TEXT NOT NULL,
  network TEXT NOT NULL,
  workdir TEXT,
  env TEXT NOT NULL,
  exec_user TEXT,
  metadata TEXT NOT NULL,
  runtime TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL,
  deadline_at TEXT,
  on_timeout TEXT NOT NULL,
  destroyed_at TEXT,
  idempotency_key TEXT UNIQUE,
  request_hash TEXT,
  pool TEXT
);
CREATE INDEX IF NOT EXISTS sandboxes_pool ON sandboxes(pool);
CREATE INDEX IF NOT EXISTS sandboxes_state ON sandboxes(state);
CREATE TABLE IF NOT EXISTS journal (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  effect_id TEXT NOT NULL,
  sandbox_id TEXT,
  effect TEXT NOT NULL,
  phase TEXT NOT NULL CHECK (phase IN ('intent', 'result', 'repair')),
  idempotency_key TEXT,
  summary TEXT NOT NULL,
  at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_effect ON journal(effect_id);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  sandbox_id TEXT NOT NULL,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_sandbox ON events(sandbox_id, seq);
CREATE TABLE IF NOT EXISTS processes (
  sandbox_id TEXT NOT NULL,
  pid INTEGER NOT NULL,
  tag TEXT,
  cmd TEXT NOT NULL,
  pty INTEGER NOT NULL,
  started_at TEXT NOT NULL,
  exit_code INTEGER,
  signal TEXT,
  reason TEXT,
  PRIMARY KEY (sandbox_id, pid, started_at)
);
CREATE TABLE IF NOT EXISTS snapshots (
  id TEXT PRIMARY KEY,
  sandbox_id TEXT NOT NULL,
  backend TEXT NOT NULL,
  kind TEXT NOT NULL,
  template TEXT,
  artifact TEXT NOT NULL,
  created_at TEXT NOT NULL
);
`;

export interface SandboxRow {
  id: string;
  backend: string;
  template: string | null;
  state: string;
  failure_reason: string | null;
  resources: string;
  network: string;
  workdir: string | null;
  env: string;
  /** Default user of commands (from the template). */
  exec_user: string | null;
  metadata: string;
  runtime: string;
  created_at: string;
  deadline_at: string | null;
  on_timeout: string;
  destroyed_at: string | null;
  idempotency_key: string | null;
  request_hash: string | null;
  /** Warm-pool key while the sandbox waits in a pool; null once handed to a caller. */
  pool: string | null;
}

export interface JournalRow {
  seq: number;
  effect_id: string;
  sandbox_id: string | null;
  effect: string;
  phase: 'intent' | 'result' | 'repair';
  idempotency_key: string | null;
  summary: string;
  at: string;
}

export interface EventRow {
  seq: number;
  sandbox_id: string;
  type: string;
  data: string;
  at: string;
}

export interface ProcessRow {
  sandbox_id: string;
  pid: number;
  tag: string | null;
  cmd: string;
  pty: number;
  started_at: string;
  exit_code: number | null;
  signal: string | null;
  reason: string | null;
}

export interface SnapshotRow {
  id: string;
  sandbox_id: string;
  backend: string;
  kind: string;
  template: string | null;
  artifact: string;
  created_at: string;
}

/** Opens (creating if needed) `<dataDir>/hutch.db`. */
export function openDatabase(dataDir: string): Database.Database {
  // 0711: sandbox ids (host uid 100000+) must traverse to template roots and sandbox dirs below;
  // nothing here is listable, and the database itself is readable by root only.
  mkdirSync(dataDir, { recursive: true, mode: 0o711 });
  chmodSync(dataDir, 0o711);
  const path = join(dataDir, 'hutch.db');
  const db = new Database(path);
  chmodSync(path, 0o600);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)').run('schema_version', String(SCHEMA_VERSION));
  return db;
}

/** Typed statements over the database. */
export class Store {
  constructor(readonly db: Database.Database) {}

  insertSandbox(row: SandboxRow): void {
    this.db
      .prepare(
        `INSERT INTO sandboxes (id, backend, template, state, failure_reason, resources, network, workdir, env, exec_user, metadata, runtime, created_at, deadline_at, on_timeout, destroyed_at, idempotency_key, request_hash, pool)
         VALUES (@id, @backend, @template, @state, @failure_reason, @resources, @network, @workdir, @env, @exec_user, @metadata, @runtime, @created_at, @deadline_at, @on_timeout, @destroyed_at, @idempotency_key, @request_hash, @pool)`,
      )
      .run(row);
  }

  getSandbox(id: string): SandboxRow | undefined {
    return this.db.prepare('SELECT * FROM sandboxes WHERE id = ?').get(id) as SandboxRow | undefined;
  }

  sandboxByIdempotencyKey(key: string): SandboxRow | undefined {
    return this.db.prepare('SELECT * FROM sandboxes WHERE idempotency_key = ?').get(key) as SandboxRow | undefined;
  }

  /** Sandboxes ordered by creation (then id), after `cursor` (an id), optionally by state. */
  listSandboxes(filter: { states?: string[]; backend?: string; afterCreatedAt?: string; afterId?: string; pool?: string | null | 'any' }): SandboxRow[] {
    const where: string[] = [];
    const params: unknown[] = [];
    const pool = filter.pool ?? null;
    if (pool === null) where.push('pool IS NULL');
    else if (pool !== 'any') {
      where.push('pool = ?');
      params.push(pool);
    }
    if (filter.states?.length) {
      where.push(`state IN (${filter.states.map(() => '?').join(',')})`);
      params.push(...filter.states);
    }
    if (filter.backend) {
      where.push('backend = ?');
      params.push(filter.backend);
    }
    if (filter.afterCreatedAt !== undefined && filter.afterId !== undefined) {
      where.push('(created_at > ? OR (created_at = ? AND id > ?))');
      params.push(filter.afterCreatedAt, filter.afterCreatedAt, filter.afterId);
    }
    const sql = `SELECT * FROM sandboxes ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id`;
    return this.db.prepare(sql).all(...params) as SandboxRow[];
  }

  updateSandbox(id: string, fields: Partial<Omit<SandboxRow, 'id'>>): void {
    const keys = Object.keys(fields);
    if (keys.length === 0) return;
    this.db.prepare(`UPDATE sandboxes SET ${keys.map((k) => `${k} = @${k}`).join(', ')} WHERE id = @id`).run({ ...fields, id });
  }

  deleteSandboxesDestroyedBefore(iso: string): number {
    return this.db.prepare("DELETE FROM sandboxes WHERE state IN ('destroyed', 'failed') AND destroyed_at IS NOT NULL AND destroyed_at < ?").run(iso).changes;
  }

  appendJournal(row: Omit<JournalRow, 'seq'>): number {
    return Number(this.db.prepare('INSERT INTO journal (effect_id, sandbox_id, effect, phase, idempotency_key, summary, at) VALUES (@effect_id, @sandbox_id, @effect, @phase, @idempotency_key, @summary, @at)').run(row).lastInsertRowid);
  }

  /** Intents that have neither a result nor a repair record. */
  unfinishedIntents(): JournalRow[] {
    return this.db
      .prepare("SELECT * FROM journal j WHERE phase = 'intent' AND NOT EXISTS (SELECT 1 FROM journal k WHERE k.effect_id = j.effect_id AND k.phase != 'intent') ORDER BY seq")
      .all() as JournalRow[];
  }

  journal(filter: { sandboxId?: string; afterSeq?: number; limit?: number } = {}): JournalRow[] {
    const where: string[] = ['seq > ?'];
    const params: unknown[] = [filter.afterSeq ?? 0];
    if (filter.sandboxId) {
      where.push('sandbox_id = ?');
      params.push(filter.sandboxId);
    }
    params.push(filter.limit ?? 1000);
    return this.db.prepare(`SELECT * FROM journal WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`).all(...params) as JournalRow[];
  }

  appendEvent(row: Omit<EventRow, 'seq'>, keepPerSandbox: number): number {
    const seq = Number(this.db.prepare('INSERT INTO events (sandbox_id, type, data, at) VALUES (@sandbox_id, @type, @data, @at)').run(row).lastInsertRowid);
    this.db.prepare('DELETE FROM events WHERE sandbox_id = ? AND seq <= ?').run(row.sandbox_id, seq - keepPerSandbox);
    return seq;
  }

  events(filter: { sandboxId?: string; afterSeq?: number; limit?: number }): EventRow[] {
    const where: string[] = ['seq > ?'];
    const params: unknown[] = [filter.afterSeq ?? 0];
    if (filter.sandboxId) {
      where.push('sandbox_id = ?');
      params.push(filter.sandboxId);
    }
    params.push(filter.limit ?? 1000);
    return this.db.prepare(`SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`).all(...params) as EventRow[];
  }

  insertProcess(row: ProcessRow): void {
    this.db.prepare('INSERT OR REPLACE INTO processes (sandbox_id, pid, tag, cmd, pty, started_at, exit_code, signal, reason) VALUES (@sandbox_id, @pid, @tag, @cmd, @pty, @started_at, @exit_code, @signal, @reason)').run(row);
  }

  finishProcess(sandboxId: string, pid: number, startedAt: string, exit: { exit_code: number | null; signal: string | null; reason: string }): void {
    this.db.prepare('UPDATE processes SET exit_code = @exit_code, signal = @signal, reason = @reason WHERE sandbox_id = @sandbox_id AND pid = @pid AND started_at = @started_at').run({ ...exit, sandbox_id: sandboxId, pid, started_at: startedAt });
  }

  /** Marks every process still without a reason as ended with `reason`; returns how many. */
  endRunningProcesses(reason: string, sandboxId?: string): number {
    const sql = `UPDATE processes SET reason = ? WHERE reason IS NULL${sandboxId ? ' AND sandbox_id = ?' : ''}`;
    return this.db.prepare(sql).run(...(sandboxId ? [reason, sandboxId] : [reason])).changes;
  }

  processes(sandboxId: string): ProcessRow[] {
    return this.db.prepare('SELECT * FROM processes WHERE sandbox_id = ? ORDER BY started_at, pid').all(sandboxId) as ProcessRow[];
  }

  insertSnapshot(row: SnapshotRow): void {
    this.db.prepare('INSERT INTO snapshots (id, sandbox_id, backend, kind, template, artifact, created_at) VALUES (@id, @sandbox_id, @backend, @kind, @template, @artifact, @created_at)').run(row);
  }

  getSnapshot(id: string): SnapshotRow | undefined {
    return this.db.prepare('SELECT * FROM snapshots WHERE id = ?').get(id) as SnapshotRow | undefined;
  }

  listSnapshots(sandboxId?: string): SnapshotRow[] {
    return (sandboxId
      ? this.db.prepare('SELECT * FROM snapshots WHERE sandbox_id = ? ORDER BY created_at, id').all(sandboxId)
      : this.db.prepare('SELECT * FROM snapshots ORDER BY created_at, id').all()) as SnapshotRow[];
  }

  deleteSnapshot(id: string): void {
    this.db.prepare('DELETE FROM snapshots WHERE id = ?').run(id);
  }

  getMeta(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  close(): void {
    this.db.close();
  }
}
