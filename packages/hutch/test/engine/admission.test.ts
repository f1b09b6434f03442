import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admit } from '../../src/engine/admission.js';
import { openTestEngine } from './helpers.js';

const limits = { maxSandboxes: 2, cpuBudget: 4, memoryBudgetMib: 1024, diskFloorBytes: 1000 };

describe('admission', () => {
  it('admits within limits and names the limit it refuses on', () => {
    admit(limits, [{ vcpus: 1 }], { vcpus: 2 }, 5000);
    assert.throws(() => admit(limits, [{}, {}], {}, 5000), { code: 'capacity_rejected', details: { limit: 'maxSandboxes', max: 2 } });
    assert.throws(() => admit(limits, [{ vcpus: 3 }], { vcpus: 2 }, 5000), { code: 'capacity_rejected', details: { limit: 'cpuBudget', max: 4 } });
    assert.throws(() => admit(limits, [{ memoryMib: 1000 }], { memoryMib: 100 }, 5000), { code: 'capacity_rejected', details: { limit: 'memoryBudgetMib', max: 1024 } });
    assert.throws(() => admit(limits, [], {}, 10), { code: 'capacity_rejected', details: { limit: 'diskFloorBytes' } });
  });

  it('rejects the sandbox over the limit and admits again after a destroy', async () => {
    const t = await openTestEngine({ engine: { limits: { maxSandboxes: 2 } } });
    try {
      const a = await t.engine.lifecycle.create({});
      await t.engine.lifecycle.create({});
      const before = t.fake.callCount('create');
      await assert.rejects(t.engine.lifecycle.create({}), { code: 'capacity_rejected' });
      assert.equal(t.fake.callCount('create'), before, 'a rejected create never reaches the backend');
      await t.engine.lifecycle.destroy(a.id);
      await t.engine.lifecycle.create({});
    } finally {
      await t.cleanup();
    }
  });

  it('refuses below the disk floor', async () => {
    const t = await openTestEngine({ engine: { diskProbe: () => 1 } });
    try {
      await assert.rejects(t.engine.lifecycle.create({}), { code: 'capacity_rejected' });
    } finally {
      await t.cleanup();
    }
  });
});

describe('capability matching', () => {
  it('fails closed, naming the missing capability, and never calls the backend', async () => {
    const t = await openTestEngine({ fake: { without: ['limits.memory', 'network.internet', 'exec.pty'] } });
    try {
      await assert.rejects(t.engine.lifecycle.create({ resources: { memoryMib: 64 } }), { code: 'capability_missing', details: { capability: 'limits.memory', backend: 'fake' } });
      await assert.rejects(t.engine.lifecycle.create({ network: { mode: 'internet' } }), { code: 'capability_missing', details: { capability: 'network.internet', backend: 'fake' } });
      assert.equal(t.fake.callCount('create'), 0);
      const { id } = await t.engine.lifecycle.create({});
      await assert.rejects(t.engine.processes.start(id, { shell: 'true', pty: { cols: 80, rows: 24 } }), { code: 'capability_missing', details: { capability: 'exec.pty', backend: 'fake' } });
      await t.engine.lifecycle.destroy(id);
    } finally {
      await t.cleanup();
    }
  });

  it('refuses every create on an unsupported host, listing what is missing', async () => {
    const t = await openTestEngine({ fake: { unsupportedHost: ['bwrap'] } });
    try {
      await assert.rejects(t.engine.lifecycle.create({}), { code: 'unsupported_host', details: { backend: 'fake', missing: ['bwrap'] } });
      assert.equal(t.fake.callCount('create'), 0);
    } finally {
      await t.cleanup();
    }
  });
});
