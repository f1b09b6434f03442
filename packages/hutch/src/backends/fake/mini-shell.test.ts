import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileShell, splitWords } from './mini-shell.js';

describe('fake mini-shell', () => {
  it('splits words honouring quotes', () => {
    assert.deepEqual(splitWords(`echo 'a  b' "c d" e`), ['echo', 'a  b', 'c d', 'e']);
    assert.deepEqual(splitWords(`echo ''`), ['echo', '']);
  });

  it('compiles redirections, sequencing and unknown commands', () => {
    assert.deepEqual(compileShell('echo hi >&2')[0], { op: 'out', stream: 'stderr', text: 'hi\n' });
    assert.deepEqual(compileShell('echo x > /f')[0], { op: 'write', path: '/f', text: 'x\n' });
    assert.equal(compileShell('true && exit 3').filter((s) => s.op === 'status' && s.stopUnlessZero).length, 1);
    assert.deepEqual(compileShell('frobnicate').at(-1), { op: 'status', code: 127, stopUnlessZero: false });
  });
});
