/**
 * The state of a fake "host": its sandboxes, their files and processes, snapshots and the call log.
 * Clones of a fake backend share one world, as separate handles on one host would. With a
 * `statePath`, sandboxes and snapshots are saved to a JSON file after every change, so that a new
 * server process (the crash test) finds the sandboxes that "survived" and can adopt them.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { SandboxSpec } from '../../domain/sandbox.js';
import type { FakeTree } from './fake-fs.js';
import type { FakeProcess } from './fake-process.js';

export type FakeSandboxState = 'created' | 'running' | 'paused' | 'stopped';

export interface FakeSandbox {
  id: string;
  state: FakeSandboxState;
  spec: SandboxSpec;
  tree: FakeTree;
  nextPid: number;
}

export class FakeWorld {
  readonly sandboxes = new Map<string, FakeSandbox>();
  readonly processes = new Map<string, Map<number, FakeProcess>>();
  readonly snapshots = new Map<string, FakeTree>();
  readonly calls: string[] = [];
  readonly fileEvents = new EventEmitter();
  /** Fake services listening in sandboxes, by `<sandboxId>:<port>`: each gets the server end of a connection. */
  readonly listeners = new Map<string, (socket: Duplex) => void>();

  constructor(private readonly statePath?: string) {
    this.fileEvents.setMaxListeners(0);
    if (statePath) this.load(statePath);
  }

  /** Saves sandboxes and snapshots (not processes: they die with the process that ran them). */
  save(): void {
    if (!this.statePath) return;
    const data = { sandboxes: [...this.sandboxes.values()], snapshots: Object.fromEntries(this.snapshots) };
    const tmp = `${this.statePath}.tmp`;
    writeFileSync(tmp, JSON.stringify(data));
    renameSync(tmp, this.statePath);
  }

  private load(path: string): void {
    let raw: string;
    try {
      raw = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const data = JSON.parse(raw) as { sandboxes: FakeSandbox[]; snapshots: Record<string, FakeTree> };
    for (const s of data.sandboxes) this.sandboxes.set(s.id, s);
    for (const [k, v] of Object.entries(data.snapshots)) this.snapshots.set(k, v);
  }
}
