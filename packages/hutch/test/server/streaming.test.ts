import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeNdjson, encodeSse, pickFormat } from '../../src/server/streaming/format.js';
import { withKeepalive } from '../../src/server/streaming/keepalive.js';

describe('stream adapters', () => {
  it('interleaves keepalives while the source is quiet, then passes its items through', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* source() {
      yield 'a';
      await gate;
      yield 'b';
    }
    const seen: string[] = [];
    for await (const item of withKeepalive(source(), { intervalMs: 5, keepalive: () => 'k', signal: new AbortController().signal })) {
      seen.push(item);
      if (item === 'k' && seen.filter((s) => s === 'k').length === 1) release();
    }
    assert.deepEqual(seen.filter((s) => s !== 'k'), ['a', 'b']);
    assert.ok(seen.includes('k'));
  });

  it('stops when the signal aborts, even while the source is blocked, and asks it to finish', async () => {
    const controller = new AbortController();
    let finished = false;
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    async function* source() {
      try {
        yield 1;
        await blocked;
        yield 2;
      } finally {
        finished = true;
      }
    }
    const seen: number[] = [];
    for await (const item of withKeepalive(source(), { intervalMs: 60_000, keepalive: () => 0, signal: controller.signal })) {
      seen.push(item);
      controller.abort();
    }
    assert.deepEqual(seen, [1]);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(finished, true);
  });

  it('passes a source error through', async () => {
    async function* source(): AsyncGenerator<number> {
      throw new Error('boom');
    }
    await assert.rejects(async () => {
      for await (const _ of withKeepalive(source(), { intervalMs: 60_000, keepalive: () => 0, signal: new AbortController().signal }));
    }, /boom/);
  });

  it('encodes NDJSON lines and SSE events, chosen by Accept', () => {
    assert.equal(encodeNdjson({ type: 'x', n: 1 }), '{"type":"x","n":1}\n');
    assert.equal(encodeSse({ type: 'sandbox.created', seq: 7 }), 'id: 7\nevent: sandbox.created\ndata: {"type":"sandbox.created","seq":7}\n\n');
    assert.equal(pickFormat('text/event-stream'), 'sse');
    assert.equal(pickFormat(undefined), 'ndjson');
    assert.equal(pickFormat('application/json'), 'ndjson');
  });
});
