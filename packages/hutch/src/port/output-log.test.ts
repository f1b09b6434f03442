import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OutputLog } from './output-log.js';

async function drain(it: AsyncIterable<{ seq: number; data: Uint8Array }>): Promise<number[]> {
  const seqs: number[] = [];
  for await (const c of it) seqs.push(c.seq);
  return seqs;
}

describe('OutputLog', () => {
  it('replays from a sequence number, then follows live output to the end', async () => {
    const log = new OutputLog();
    log.append('stdout', Buffer.from('a'));
    log.append('stderr', Buffer.from('b'));
    const reader = drain(log.read(2));
    log.append('stdout', Buffer.from('c'));
    log.end();
    assert.deepEqual(await reader, [2, 3]);
    assert.deepEqual(await drain(log.read()), [1, 2, 3]);
    assert.equal(log.collect('stdout').toString(), 'ac');
  });

  it('drops the oldest chunks past its byte bound', async () => {
    const log = new OutputLog(4);
    for (const s of ['aa', 'bb', 'cc']) log.append('stdout', Buffer.from(s));
    log.end();
    assert.deepEqual(await drain(log.read()), [2, 3]);
  });

  it('stops following when aborted', async () => {
    const log = new OutputLog();
    const controller = new AbortController();
    const reader = drain(log.read(1, controller.signal));
    controller.abort(new Error('stop'));
    await assert.rejects(reader, /stop/);
  });
});
