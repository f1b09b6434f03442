import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openTestEngine } from './helpers.js';

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

async function* chunks(buf: Buffer, size = 7): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

describe('engine snapshots over the fake backend', () => {
  it('snapshots, forks into independent sandboxes, lists and deletes', async () => {
    const t = await openTestEngine();
    try {
      const parent = await t.engine.lifecycle.create({ metadata: { role: 'parent' } });
      await t.engine.files.write(parent.id, '/workspace/a.txt', Buffer.from('parent'));
      const snap = await t.engine.snapshots.create(parent.id);
      assert.equal(snap.kind, 'continuation');
      const kids = await t.engine.snapshots.fork(snap.id, 3);
      for (const kid of kids) {
        assert.deepEqual(kid.metadata, { role: 'parent' }, 'a fork inherits the parent settings');
        assert.equal((await collect(await t.engine.files.read(kid.id, '/workspace/a.txt'))).toString(), 'parent');
      }
      await t.engine.files.write(kids[0]!.id, '/workspace/a.txt', Buffer.from('changed'));
      assert.equal((await collect(await t.engine.files.read(kids[1]!.id, '/workspace/a.txt'))).toString(), 'parent');
      assert.deepEqual(t.engine.snapshots.list({ sandboxId: parent.id }).map((s) => s.id), [snap.id]);
      await assert.rejects(t.engine.snapshots.fork(snap.id, 0), { code: 'bad_request' });
      await t.engine.snapshots.delete(snap.id);
      assert.throws(() => t.engine.snapshots.get(snap.id), { code: 'snapshot_not_found' });
    } finally {
      await t.cleanup();
    }
  });

  it('exports a snapshot to a file and imports it elsewhere; tampered or foreign files are refused', async () => {
    const a = await openTestEngine();
    const b = await openTestEngine();
    try {
      const sbx = await a.engine.lifecycle.create({});
      await a.engine.files.write(sbx.id, '/workspace/moved.txt', Buffer.from('across hosts'));
      const snap = await a.engine.snapshots.create(sbx.id);
      const file = await collect(await a.engine.snapshots.export(snap.id));
      assert.ok(file.toString().startsWith('HUTCH-SNAPSHOT/1\n'));
      const imported = await b.engine.snapshots.import(chunks(file));
      assert.equal(imported.sha256, snap.sha256);
      const restored = await b.engine.snapshots.restore(imported.id);
      assert.equal((await collect(await b.engine.files.read(restored.id, '/workspace/moved.txt'))).toString(), 'across hosts');

      const tampered = Buffer.from(file);
      tampered[tampered.length - 2] ^= 1;
      await assert.rejects(b.engine.snapshots.import(chunks(tampered)), { code: 'bad_request', message: /does not match its recorded size and sha256/ });
      await assert.rejects(b.engine.snapshots.import(chunks(Buffer.from('not a snapshot\n{}\n'))), { code: 'bad_request', message: /not a Hutch snapshot file/ });
      assert.equal(b.engine.snapshots.list().length, 1, 'nothing kept from refused imports');
    } finally {
      await a.cleanup();
      await b.cleanup();
    }
  });

  it('refuses new snapshots below the disk floor', async () => {
    let free = 100 * 1024 ** 3;
    const t = await openTestEngine({ engine: { diskProbe: () => free } });
    try {
      const sbx = await t.engine.lifecycle.create({});
      free = 10;
      await assert.rejects(t.engine.snapshots.create(sbx.id), { code: 'capacity_rejected' });
    } finally {
      await t.cleanup();
    }
  });
});
