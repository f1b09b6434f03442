import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkBytes, decodeMessage, encodeRequest, LineSplitter } from './agent-protocol.js';

describe('microvm agent protocol', () => {
  it('encodes one request per line with id and op', () => {
    const line = encodeRequest(7, 'exec', { argv: ['echo', 'a\nb'] });
    assert.ok(line.endsWith('\n'));
    assert.equal(line.indexOf('\n'), line.length - 1, 'newlines inside values are escaped');
    assert.deepEqual(JSON.parse(line), { argv: ['echo', 'a\nb'], id: 7, op: 'exec' });
  });

  it('decodes replies and events, and rejects frames that are neither', () => {
    assert.deepEqual(decodeMessage('{"id":1,"ok":true,"pid":5}'), { kind: 'reply', reply: { id: 1, ok: true, pid: 5 } });
    assert.deepEqual(decodeMessage('{"id":2,"ok":false,"errno":"ENOENT","message":"x"}').kind, 'reply');
    const ev = decodeMessage('{"ev":"out","p":5,"s":"stdout","d":"aGk="}');
    assert.equal(ev.kind, 'event');
    assert.throws(() => decodeMessage('{"hello":1}'));
    assert.throws(() => decodeMessage('not json'));
  });

  it('splits a stream into lines across chunk boundaries and drops a partial line on reset', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push('{"a":1}\n{"b"'), ['{"a":1}']);
    assert.deepEqual(s.push(':2}\n\n'), ['{"b":2}']);
    s.push('{"partial"');
    s.reset();
    assert.deepEqual(s.push('{"c":3}\n'), ['{"c":3}']);
  });

  it('chunks payloads for frames, keeping an empty write as one frame', () => {
    assert.deepEqual(chunkBytes(new Uint8Array(0)).length, 1);
    const parts = chunkBytes(new Uint8Array(10), 4);
    assert.deepEqual(parts.map((p) => p.length), [4, 4, 2]);
  });
});
