/**
 * The crash test: a child process running the engine is killed with SIGKILL in the middle of an
 * effect; a new engine opens the same data directory and must account for every sandbox (adopted,
 * destroyed, or failed with a reason) and mark every unfinished effect for repair.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Engine } from '../../src/engine/engine.js';
import { openTestEngine, tempDir } from './helpers.js';

const child = join(fileURLToPath(new URL('.', import.meta.url)), 'crash-child.js');

/** Runs the child until `killWhen` matches an output line, then SIGKILLs it. Returns the ready ids. */
async function runAndKill(dataDir: string, mode: string, killWhen: (line: string, lines: string[]) => boolean): Promise<string[]> {
  const proc = spawn(process.execPath, [child, dataDir, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let ready: string[] = [];
  const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_code, signal) => resolve(signal)));
  for await (const line of createInterface({ input: proc.stdout })) {
    lines.push(line);
    if (line.startsWith('ready ')) ready = line.slice(6).split(',');
    if (ready.length && killWhen(line, lines)) {
      proc.kill('SIGKILL');
      break;
    }
  }
  assert.equal(await exited, 'SIGKILL', `child output: ${lines.slice(-5).join(' | ')}`);
  return ready;
}

function assertAccountedFor(engine: Engine): void {
  const records = engine.journal({ limit: 100_000 });
  const outcomes = new Set(records.filter((r) => r.phase !== 'intent').map((r) => r.effectId));
  for (const intent of records.filter((r) => r.phase === 'intent')) assert.ok(outcomes.has(intent.effectId), `intent ${intent.effect} #${intent.seq} has no result or repair`);
  for (const sandbox of engine.list({ limit: 1000 }).items) {
    assert.notEqual(sandbox.state, 'creating', `${sandbox.id} left in creating`);
    if (sandbox.state === 'failed') assert.ok(sandbox.failureReason, `${sandbox.id} failed without a reason`);
  }
}

async function reopen(dataDir: string) {
  return openTestEngine({ dataDir, fake: { statePath: join(dataDir, 'fake-world.json') } });
}

describe('crash recovery', () => {
  it('after a SIGKILL during a create: adopts survivors, fails the half-created sandbox, marks repair, ends processes as lost', async () => {
    const dataDir = tempDir('hutch-crash-');
    try {
      const ready = await runAndKill(dataDir, 'create', (line) => line === 'inflight create');
      const t = await reopen(dataDir);
      try {
        assertAccountedFor(t.engine);
        const [withProcess, paused, plain] = ready.map((id) => t.engine.get(id));
        assert.equal(withProcess!.state, 'running');
        assert.equal(paused!.state, 'paused');
        assert.equal(plain!.state, 'running');
        assert.deepEqual(t.engine.recovery.adopted.sort(), [...ready].sort());
        const failed = t.engine.list({ state: 'failed' }).items;
        assert.equal(failed.length, 1);
        assert.match(failed[0]!.failureReason!, /^lost: .*being created/);
        const repairs = t.engine.journal({ limit: 100_000 }).filter((r) => r.phase === 'repair');
        assert.deepEqual(repairs.map((r) => r.effect), ['create']);
        const processes = await t.engine.processes.list(withProcess!.id);
        assert.ok(processes.some((p) => p.exit?.reason === 'lost'), 'the running process ends as lost');
        assert.ok(!JSON.stringify(t.engine.journal({ limit: 100_000 })).includes('crash-secret-value'));
        const result = await t.engine.processes.run(plain!.id, { shell: 'echo after' });
        assert.equal(result.stdout, 'after\n', 'an adopted sandbox is usable');
      } finally {
        await t.cleanup();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('after a SIGKILL during a destroy: finishes the destroy on restart', async () => {
    const dataDir = tempDir('hutch-crash-');
    try {
      const ready = await runAndKill(dataDir, 'destroy', (line) => line === 'inflight destroy');
      const t = await reopen(dataDir);
      try {
        assertAccountedFor(t.engine);
        assert.equal(t.engine.get(ready[2]!).state, 'destroyed');
        assert.equal(t.fake.world.sandboxes.has(ready[2]!), false, 'the backend reclaimed it');
      } finally {
        await t.cleanup();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('after SIGKILLs at random points: every sandbox and effect is accounted for, every time', async () => {
    const dataDir = tempDir('hutch-crash-');
    try {
      for (let round = 0; round < 3; round++) {
        const target = 5 + Math.floor(Math.random() * 40);
        await runAndKill(dataDir, 'random', (_line, lines) => lines.filter((l) => l.startsWith('inflight')).length >= target);
        const t = await reopen(dataDir);
        try {
          assertAccountedFor(t.engine);
          for (const id of t.engine.recovery.adopted) assert.ok(t.fake.world.sandboxes.has(id));
        } finally {
          await t.cleanup();
        }
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
