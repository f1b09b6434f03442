import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import { openTestEngine, tempDir } from './helpers.js';

describe('warm pools', () => {
  it('hands off a ready sandbox instead of booting one, then refills', async () => {
    const t = await openTestEngine();
    try {
      t.engine.pools.configure({ size: 2 });
      await t.engine.pools.settled();
      assert.equal(t.engine.pools.status()[0]!.ready, 2);
      assert.equal(t.engine.list().items.length, 0, 'pooled sandboxes are not listed');
      const pooled = new Set(t.fake.world.sandboxes.keys());
      const creates = t.fake.callCount('create');
      const sbx = await t.engine.lifecycle.create({ env: { K: 'v' }, metadata: { who: 'me' }, timeoutMs: 60_000 });
      assert.ok(pooled.has(sbx.id), 'the caller gets a sandbox that was already running');
      assert.equal(sbx.state, 'running');
      assert.deepEqual(sbx.metadata, { who: 'me' });
      assert.ok(sbx.deadlineAt);
      assert.ok(t.engine.events({ sandboxId: sbx.id }).some((e) => e.type === 'sandbox.created' && e.data.fromPool === true));
      assert.equal((await t.engine.processes.run(sbx.id, { shell: 'printenv K' })).stdout, 'v\n', 'the caller env applies after hand-off');
      await t.engine.pools.settled();
      assert.equal(t.engine.pools.status()[0]!.ready, 2, 'refilled');
      assert.equal(t.fake.callCount('create'), creates + 1, 'one backend create: the refill');
      const other = await t.engine.lifecycle.create({ resources: { memoryMib: 64 } });
      assert.equal(t.fake.callCount('create'), creates + 2, 'a request that does not match the pool boots (plus one refill)');
      await t.engine.lifecycle.destroy(other.id);
      await t.engine.lifecycle.destroy(sbx.id);
    } finally {
      await t.engine.pools.drain();
      await t.cleanup();
    }
  });

  it('skips a pooled sandbox that fails its health check', async () => {
    const t = await openTestEngine();
    try {
      t.engine.pools.configure({ size: 1 });
      await t.engine.pools.settled();
      const pooledId = [...t.fake.world.sandboxes.keys()][0]!;
      t.fake.world.sandboxes.delete(pooledId);
      const sbx = await t.engine.lifecycle.create({});
      assert.notEqual(sbx.id, pooledId);
      assert.equal(t.engine.get(pooledId).state, 'failed');
    } finally {
      await t.engine.pools.drain();
      await t.cleanup();
    }
  });

  it('keeps pooled sandboxes across a restart when the pool is still configured, and drops them otherwise', async () => {
    const dataDir = tempDir();
    const statePath = `${dataDir}/fake.json`;
    try {
      const first = await openTestEngine({ dataDir, fake: { statePath }, engine: { pools: [{ size: 2 }] } });
      await first.engine.pools.settled();
      await first.engine.close();
      const second = await openTestEngine({ dataDir, fake: { statePath }, engine: { pools: [{ size: 2 }] } });
      await second.engine.pools.settled();
      assert.equal(second.engine.recovery.adopted.length, 2);
      assert.equal(second.engine.pools.status()[0]!.ready, 2);
      assert.equal(second.fake.callCount('create'), 0);
      await second.engine.close();
      const third = await openTestEngine({ dataDir, fake: { statePath } });
      assert.equal(third.fake.world.sandboxes.size, 0, 'unconfigured pool sandboxes are destroyed');
      await third.cleanup();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
