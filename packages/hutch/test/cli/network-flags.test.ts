import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRule, policyFromFlags } from '../../src/cli/commands/network.js';

describe('hutch network flags', () => {
  it('parses domains, CIDRs and ports', () => {
    assert.deepEqual(parseRule('allow', '*.npmjs.org:443,80'), { action: 'allow', domain: '*.npmjs.org', ports: [443, 80] });
    assert.deepEqual(parseRule('deny', '10.0.0.0/8'), { action: 'deny', cidr: '10.0.0.0/8' });
    assert.deepEqual(parseRule('allow', '1.2.3.4:22'), { action: 'allow', cidr: '1.2.3.4', ports: [22] });
  });

  it('builds a policy: rules mode with rules, internet with --internet', () => {
    assert.deepEqual(policyFromFlags({ allow: ['a.test'], audit: true, inject: ['a.test:Authorization:Bearer {{secret:T}}'] }), {
      mode: 'rules', rules: [{ action: 'allow', domain: 'a.test' }], audit: true, inject: [{ host: 'a.test', header: 'Authorization', value: 'Bearer {{secret:T}}' }],
    });
    assert.deepEqual(policyFromFlags({ internet: true, deny: ['10.0.0.0/8'] }), { mode: 'internet', rules: [{ action: 'deny', cidr: '10.0.0.0/8' }] });
    assert.deepEqual(policyFromFlags({}), { mode: 'none' });
  });
});
