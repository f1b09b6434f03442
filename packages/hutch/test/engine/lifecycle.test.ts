import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestEngine, waitFor, type TestEngine } from './helpers.js';

describe('engine lifecycle over the fake backend', () => {
  let t: TestEngine;
  before(async () => (t = await openTestEngine()));
  after(async () => t.cleanup());

  it('creates a running sandbox with a deadline and an event', async () => {
    const info = await t.engine.lifecycle.create({ metadata: { team: 'a' }, env: { A: '1' }, timeoutMs: 60_000 });
    assert.equal(info.state, 'running');
    assert.match(info.id, /^sbx[0-9a-z]{17}$/);
    assert.deepEqual(info.envKeys, ['A']);
    assert.ok(info.deadlineAt);
    assert.ok(t.engine.events({ sandboxId: info.id }).some((e) => e.type === 'sandbox.created'));
    assert.deepEqual(t.fake.calls().slice(-2), ['create', 'start']);
  });

  it('pauses, refuses invalid transitions with their states, resumes and destroys to a tombstone', async () => {
    const { id } = await t.engine.lifecycle.create({});
    await assert.rejects(t.engine.lifecycle.resume(id), { code: 'invalid_transition', details: { from: 'running', to: 'running', operation: 'resume' } });
    assert.equal((await t.engine.lifecycle.pause(id)).state, 'paused');
    await assert.rejects(t.engine.processes.run(id, { shell: 'true' }), { code: 'invalid_transition' });
    assert.equal((await t.engine.lifecycle.resume(id)).state, 'running');
    const destroyed = await t.engine.lifecycle.destroy(id);
    assert.equal(destroyed.state, 'destroyed');
    assert.ok(destroyed.destroyedAt);
    assert.equal((await t.engine.lifecycle.destroy(id)).state, 'destroyed', 'destroy is idempotent');
    await assert.rejects(t.engine.lifecycle.pause(id), { code: 'invalid_transition' });
    assert.throws(() => t.engine.get('sbxnosuchsandbox0000'), { code: 'sandbox_not_found' });
  });

  it('stops and starts again', async () => {
    const { id } = await t.engine.lifecycle.create({});
    assert.equal((await t.engine.lifecycle.stop(id)).state, 'stopped');
    assert.equal((await t.engine.lifecycle.start(id)).state, 'running');
    await t.engine.lifecycle.destroy(id);
  });

  it('runs commands: non-zero exit is a result, timeout is its own error', async () => {
    const { id } = await t.engine.lifecycle.create({ env: { GREETING: 'hello' } });
    const result = await t.engine.processes.run(id, { shell: 'printenv GREETING; echo oops >&2; exit 4' });
    assert.equal(result.stdout, 'hello\n');
    assert.equal(result.stderr, 'oops\n');
    assert.equal(result.exitCode, 4);
    await assert.rejects(t.engine.processes.run(id, { shell: 'sleep 5', timeoutMs: 50 }), { code: 'process_timeout' });
    const processes = await t.engine.processes.list(id);
    assert.ok(processes.some((p) => p.exit?.reason === 'timeout'));
    await t.engine.lifecycle.destroy(id);
  });

  it('ends running processes as sandbox_destroyed', async () => {
    const { id } = await t.engine.lifecycle.create({});
    const handle = await t.engine.processes.start(id, { shell: 'sleep 30' });
    await t.engine.lifecycle.destroy(id);
    assert.equal((await handle.wait()).reason, 'sandbox_destroyed');
  });

  it('lists with state and metadata filters, one page at a time', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await t.engine.lifecycle.create({ metadata: { batch: 'paging', n: String(i) } })).id);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = t.engine.list({ metadata: { batch: 'paging' }, state: 'running', limit: 2, ...(cursor ? { cursor } : {}) });
      assert.ok(page.items.length <= 2);
      seen.push(...page.items.map((s) => s.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    assert.deepEqual(seen.sort(), [...ids].sort());
    assert.throws(() => t.engine.list({ cursor: 'garbage' }), { code: 'bad_request' });
    assert.throws(() => t.engine.list({ state: 'sleeping' as never }), { code: 'bad_request' });
    for (const id of ids) await t.engine.lifecycle.destroy(id);
  });

  it('returns the same sandbox for a retried idempotency key, and refuses the key for another request', async () => {
    const a = await t.engine.lifecycle.create({ idempotencyKey: 'k-1', metadata: { x: '1' } });
    const b = await t.engine.lifecycle.create({ idempotencyKey: 'k-1', metadata: { x: '1' } });
    assert.equal(a.id, b.id);
    await assert.rejects(t.engine.lifecycle.create({ idempotencyKey: 'k-1', metadata: { x: '2' } }), { code: 'conflict' });
    await t.engine.lifecycle.destroy(a.id);
  });

  it('destroys at the deadline, or pauses when asked; extending moves the deadline', async () => {
    const a = await t.engine.lifecycle.create({ timeoutMs: 30 });
    const b = await t.engine.lifecycle.create({ timeoutMs: 30, onTimeout: 'pause' });
    const c = await t.engine.lifecycle.create({ timeoutMs: 30 });
    await t.engine.lifecycle.setTimeout(c.id, 60_000);
    await waitFor(() => t.engine.get(a.id).state === 'destroyed' && t.engine.get(b.id).state === 'paused');
    assert.ok(t.engine.events({ sandboxId: a.id }).some((e) => e.type === 'sandbox.expired'));
    assert.equal(t.engine.get(c.id).state, 'running');
    await t.engine.lifecycle.destroy(b.id);
    await t.engine.lifecycle.destroy(c.id);
  });

  it('validates requests with typed errors', async () => {
    await assert.rejects(t.engine.lifecycle.create({ env: { 'BAD-NAME': 'x' } }), { code: 'bad_request' });
    await assert.rejects(t.engine.lifecycle.create({ timeoutMs: -1 }), { code: 'bad_request' });
    await assert.rejects(t.engine.lifecycle.create({ resources: { memoryMib: 1 } }), { code: 'bad_request' });
    await assert.rejects(t.engine.lifecycle.create({ backend: 'nope' }), { code: 'bad_request' });
  });
});
