import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { sha256Hex } from '../auth.js';
import { apiKeyAccepted, e2bApiKeyFor, EnvdTokens, fileSignature, signatureMatches } from './credentials.js';

const HEX = '0123456789abcdef'.repeat(4);

function settings() {
  const map = new Map<string, string>();
  return { get: (k: string) => map.get(k), set: (k: string, v: string) => void map.set(k, v) };
}

describe('E2B credentials', () => {
  it('accepts the Hutch key and its e2b_ form, and nothing else', () => {
    const hashes = [sha256Hex(`hutch_${HEX}`)];
    assert.equal(e2bApiKeyFor(`hutch_${HEX}`), `e2b_${HEX}`);
    assert.equal(apiKeyAccepted(`e2b_${HEX}`, hashes), true);
    assert.equal(apiKeyAccepted(`hutch_${HEX}`, hashes), true);
    for (const key of [`e2b_${HEX.slice(1)}`, HEX, '', undefined, 'e2b_']) assert.equal(apiKeyAccepted(key, hashes), false, String(key));
  });

  it('derives one stable envd token per sandbox from a stored secret', () => {
    const store = settings();
    const tokens = new EnvdTokens(store);
    const a = tokens.tokenFor('sbxa');
    assert.equal(new EnvdTokens(store).tokenFor('sbxa'), a, 'the same after a restart');
    assert.notEqual(tokens.tokenFor('sbxb'), a);
    assert.equal(tokens.verify('sbxa', a), true);
    assert.equal(tokens.verify('sbxb', a), false);
    assert.equal(tokens.verify('sbxa', undefined), false);
    assert.notEqual(new EnvdTokens(settings()).tokenFor('sbxa'), a, 'another server, another secret');
  });

  it('signs file URLs like envd: v1_ + unpadded base64 sha256 of path:op:user:token[:exp]', () => {
    const expected = `v1_${createHash('sha256').update('/home/user/a.txt:read:user:tok:1700000000').digest('base64').replace(/=+$/, '')}`;
    assert.equal(fileSignature('/home/user/a.txt', 'read', 'user', 'tok', 1700000000), expected);
    assert.equal(signatureMatches(expected, '/home/user/a.txt', 'read', 'user', 'tok', 1700000000), true);
    assert.equal(signatureMatches(expected, '/home/user/a.txt', 'write', 'user', 'tok', 1700000000), false);
    assert.equal(signatureMatches(expected, '/home/user/a.txt', 'read', 'user', 'tok'), false);
  });
});
