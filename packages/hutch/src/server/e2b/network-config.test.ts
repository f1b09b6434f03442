import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { e2bNetworkPolicy } from './network-config.js';

describe('E2B network config mapping', () => {
  it('maps the defaults and allow_internet_access', () => {
    assert.deepEqual(e2bNetworkPolicy({}, true), { mode: 'internet' });
    assert.deepEqual(e2bNetworkPolicy({}, false), { mode: 'none' });
    assert.deepEqual(e2bNetworkPolicy({ allow_internet_access: false }, true), { mode: 'none' });
  });

  it('turns deny-all plus allowOut into an allowlist (allowOut wins, as in E2B)', () => {
    assert.deepEqual(e2bNetworkPolicy({ denyOut: ['0.0.0.0/0'], allowOut: ['api.example.com', '*.npmjs.org', '8.8.8.8'] }, true), {
      mode: 'rules',
      rules: [{ action: 'allow', domain: 'api.example.com' }, { action: 'allow', domain: '*.npmjs.org' }, { action: 'allow', cidr: '8.8.8.8' }],
    });
    assert.deepEqual(e2bNetworkPolicy({ allow_internet_access: false, allowOut: ['a.test'] }, true), { mode: 'rules', rules: [{ action: 'allow', domain: 'a.test' }] });
  });

  it('keeps internet with denyOut CIDRs as deny rules, and refuses what it cannot map', () => {
    assert.deepEqual(e2bNetworkPolicy({ denyOut: ['10.0.0.0/8'] }, true), { mode: 'internet', rules: [{ action: 'deny', cidr: '10.0.0.0/8' }] });
    assert.throws(() => e2bNetworkPolicy({ denyOut: ['example.com'] }, true), { code: 'bad_request' });
    assert.throws(() => e2bNetworkPolicy({ rules: { 'a.test': [{ transform: { headers: { a: 'b' } } }] } }, true), { code: 'bad_request' });
  });
});
