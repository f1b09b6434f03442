import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BackendFailureError } from '../../src/domain/errors.js';
import { Journal } from '../../src/engine/journal.js';
import { openDatabase, Store } from '../../src/engine/store.js';
import { openTestEngine, tempDir } from './helpers.js';

describe('journal', () => {
  it('writes an intent before every backend call and a result after', async () => {
    const t = await openTestEngine();
    try {
      const { id } = await t.engine.lifecycle.create({});
      await t.engine.processes.run(id, { shell: 'echo hi' });
      await t.engine.lifecycle.destroy(id);
      const records = t.engine.journal({ sandboxId: id });
      const effects = records.map((r) => `${r.effect}:${r.phase}`);
      assert.deepEqual(effects, ['create:intent', 'create:result', 'start:intent', 'start:result', 'exec:intent', 'exec:result', 'destroy:intent', 'destroy:result']);
      for (let i = 0; i < records.length; i += 2) assert.equal(records[i]!.effectId, records[i + 1]!.effectId);
      assert.ok(records.every((r, i) => i === 0 || r.seq > records[i - 1]!.seq), 'sequence numbers strictly increase');
    } finally {
      await t.cleanup();
    }
  });

  it('does not call the backend when the intent cannot be written', async () => {
    const dir = tempDir();
    const store = new Store(openDatabase(dir));
    const journal = new Journal(store, () => new Date().toISOString());
    store.close();
    let called = false;
    await assert.rejects(
      journal.effect({ sandboxId: 's', effect: 'create', summary: {} }, async () => {
        called = true;
      }),
      { code: 'journal_unavailable' },
    );
    assert.equal(called, false);
    rmSync(dir, { recursive: true, force: true });
  });

  it('records a failed effect as a result with its code, and marks the sandbox failed after reclaiming', async () => {
    const t = await openTestEngine();
    try {
      t.fake.failNext('start', new BackendFailureError('boom'));
      await assert.rejects(t.engine.lifecycle.create({}), { code: 'backend_failure' });
      const failed = t.engine.list({ state: 'failed' }).items;
      assert.equal(failed.length, 1);
      assert.equal(failed[0]!.failureReason, 'create failed: backend_failure');
      const records = t.engine.journal({ sandboxId: failed[0]!.id });
      const start = records.find((r) => r.effect === 'start' && r.phase === 'result');
      assert.deepEqual(start?.summary, { ok: false, code: 'backend_failure' });
      assert.ok(records.some((r) => r.effect === 'reclaim' && r.phase === 'result'));
      assert.ok(t.fake.calls().includes('reclaim'));
    } finally {
      await t.cleanup();
    }
  });

  it('keeps secrets and host paths out of journal records and events', async () => {
    const secret = 'sk-live-5f3a9c2e7b1d';
    const execSecret = 'exec-secret-0a1b2c3d';
    const t = await openTestEngine();
    try {
      const { id } = await t.engine.lifecycle.create({ env: { API_KEY: secret } });
      await t.engine.processes.run(id, { shell: `echo ${execSecret}`, env: { TOKEN: execSecret } });
      await t.engine.processes.run(id, { cmd: 'echo', args: [execSecret] });
      await t.engine.snapshots.create(id);
      await t.engine.lifecycle.destroy(id);
      const journalText = JSON.stringify(t.engine.journal());
      const eventText = JSON.stringify(t.engine.events());
      for (const text of [journalText, eventText]) {
        assert.ok(!text.includes(secret), 'sandbox env secret leaked');
        assert.ok(!text.includes(execSecret), 'exec secret leaked');
        assert.ok(!text.includes(t.dataDir), 'host path leaked');
      }
      assert.ok(journalText.includes('API_KEY'), 'env key names are kept');
      // The raw database pages of the journal and events hold no secret either (WAL included).
      const raw = (name: string) => {
        try {
          return readFileSync(join(t.dataDir, name)).toString('latin1');
        } catch {
          return '';
        }
      };
      const rows = t.engine.journal().length;
      assert.ok(rows > 0);
      assert.ok(!(raw('hutch.db') + raw('hutch.db-wal')).includes(execSecret), 'exec secret is never stored');
    } finally {
      await t.cleanup();
    }
  });
});
