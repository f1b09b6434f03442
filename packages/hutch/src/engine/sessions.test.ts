import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MarkerParser } from './sessions.js';

describe('session output marker', () => {
  it('finds a marker split across chunks and returns what follows it', () => {
    const parser = new MarkerParser('__END__');
    const a = parser.push(Buffer.from('hello __E'));
    assert.equal(a.data.toString(), 'hel', 'holds back what could start the marker');
    assert.equal(a.done, false);
    const b = parser.push(Buffer.from('ND__0\n'));
    assert.equal(b.data.toString(), 'lo ');
    assert.equal(b.done, true);
    assert.equal(b.rest.toString(), '0\n');
  });

  it('passes through output without a marker, holding back only a possible prefix', () => {
    const parser = new MarkerParser('__END__');
    assert.equal(parser.push(Buffer.from('abcdefghij')).data.toString(), 'abcd');
    assert.equal(parser.push(Buffer.from('__END__')).data.toString(), 'efghij');
  });
});
