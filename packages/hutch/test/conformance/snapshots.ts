/** Conformance: a filesystem snapshot restores into a new, independent sandbox. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readAll, requires, sandboxSpec, withSandbox, type Suite } from './harness.js';

export function snapshotCases(suite: Suite): void {
  describe('snapshots', () => {
    it('round-trips the filesystem through snapshot and restore', async (t) => {
      if (!requires(t, suite, 'snapshot.filesystem', 'files')) return;
      const b = suite.backend();
      await withSandbox(suite, async (id) => {
        await b.writeFile(id, '/workspace/state.txt', Buffer.from('v1'));
        const artifact = await b.snapshot(id, { snapshotId: `snap_${id}`, kind: 'continuation' });
        assert.match(artifact.sha256, /^[0-9a-f]{64}$/);
        assert.ok(artifact.sizeBytes > 0);
        await b.writeFile(id, '/workspace/state.txt', Buffer.from('v2'));
        const restored = sandboxSpec(suite);
        await b.restore(artifact, restored);
        try {
          await b.start(restored.id);
          assert.equal((await readAll(await b.readFile(restored.id, '/workspace/state.txt'))).toString(), 'v1');
          await b.writeFile(restored.id, '/workspace/state.txt', Buffer.from('v3'));
          assert.equal((await readAll(await b.readFile(id, '/workspace/state.txt'))).toString(), 'v2');
        } finally {
          await b.destroy(restored.id);
          await b.deleteSnapshot(artifact);
        }
      });
    });
  });
}
