import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cidrContains, domainMatches, evaluateEgress, evaluateName, renderInjection, validateNetworkPolicy } from './network-rules.js';
import type { NetworkPolicy } from './sandbox.js';

const q = (ip: string, port: number, names: string[] = [], hostAddress = false) => ({ ip, port, names, hostAddress });

describe('network rules', () => {
  it('matches exact, wildcard and any-name domains', () => {
    assert.ok(domainMatches('allowed.test', 'Allowed.Test.'));
    assert.ok(domainMatches('*.npmjs.org', 'registry.npmjs.org'));
    assert.ok(domainMatches('*.npmjs.org', 'a.b.npmjs.org'));
    assert.ok(!domainMatches('*.npmjs.org', 'npmjs.org'));
    assert.ok(!domainMatches('*.npmjs.org', 'evilnpmjs.org'));
    assert.ok(domainMatches('*', 'x.y'));
  });

  it('matches CIDRs and single addresses', () => {
    assert.ok(cidrContains('10.0.0.0/8', '10.253.1.2'));
    assert.ok(!cidrContains('10.0.0.0/8', '11.0.0.1'));
    assert.ok(cidrContains('1.2.3.4', '1.2.3.4'));
    assert.ok(cidrContains('0.0.0.0/0', '8.8.8.8'));
    assert.ok(!cidrContains('192.168.1.0/24', '192.168.2.1'));
  });

  it('none denies everything, rules deny by default, internet allows by default', () => {
    assert.equal(evaluateEgress({ mode: 'none' }, q('1.1.1.1', 443)).rule, 'mode:none');
    assert.deepEqual(evaluateEgress({ mode: 'rules' }, q('1.1.1.1', 443)), { verdict: 'deny', rule: 'default', host: null });
    assert.equal(evaluateEgress({ mode: 'internet' }, q('1.1.1.1', 443)).verdict, 'allow');
  });

  it('allows a domain only when a name is attributed, and by CIDR for raw IPs', () => {
    const p: NetworkPolicy = { mode: 'rules', rules: [{ action: 'allow', domain: 'allowed.test' }, { action: 'allow', cidr: '10.9.0.0/16', ports: [22] }] };
    assert.deepEqual(evaluateEgress(p, q('10.253.1.2', 80, ['allowed.test'])), { verdict: 'allow', rule: 'rules[0]', host: 'allowed.test' });
    assert.equal(evaluateEgress(p, q('10.253.1.3', 80, ['other.test'])).verdict, 'deny');
    assert.equal(evaluateEgress(p, q('10.253.1.3', 80)).verdict, 'deny');
    assert.equal(evaluateEgress(p, q('10.9.1.1', 22)).rule, 'rules[1]');
    assert.equal(evaluateEgress(p, q('10.9.1.1', 23)).verdict, 'deny');
  });

  it('deny beats allow whatever the order', () => {
    const p: NetworkPolicy = { mode: 'rules', rules: [{ action: 'allow', domain: '*.example.test' }, { action: 'deny', domain: 'bad.example.test' }] };
    assert.equal(evaluateEgress(p, q('10.0.0.1', 443, ['good.example.test'])).verdict, 'allow');
    assert.deepEqual(evaluateEgress(p, q('10.0.0.1', 443, ['bad.example.test'])), { verdict: 'deny', rule: 'rules[1]', host: 'bad.example.test' });
    const byCidr: NetworkPolicy = { mode: 'internet', rules: [{ action: 'allow', domain: 'x.test' }, { action: 'deny', cidr: '10.0.0.0/8' }] };
    assert.equal(evaluateEgress(byCidr, q('10.0.0.1', 443, ['x.test'])).rule, 'rules[1]');
    assert.equal(evaluateName(p, 'bad.example.test').verdict, 'deny');
    assert.equal(evaluateName(p, 'good.example.test').verdict, 'allow');
    assert.equal(evaluateName(p, 'other.test').verdict, 'deny');
  });

  it('guards the host unless a /32 allow names the address; audit never lifts it', () => {
    const p: NetworkPolicy = { mode: 'internet', audit: true, rules: [{ action: 'allow', cidr: '10.0.0.0/8' }] };
    assert.deepEqual(evaluateEgress(p, q('10.1.1.1', 80, [], true)), { verdict: 'deny', rule: 'host_guard', host: null });
    const named: NetworkPolicy = { mode: 'rules', rules: [{ action: 'allow', cidr: '10.1.1.1/32', ports: [80] }] };
    assert.equal(evaluateEgress(named, q('10.1.1.1', 80, [], true)).verdict, 'allow');
    assert.equal(evaluateEgress(named, q('10.1.1.1', 81, [], true)).rule, 'host_guard');
  });

  it('audit turns denials into audit verdicts', () => {
    const p: NetworkPolicy = { mode: 'rules', audit: true, rules: [{ action: 'allow', domain: 'allowed.test' }] };
    assert.deepEqual(evaluateEgress(p, q('10.0.0.2', 80, ['other.test'])), { verdict: 'audit', rule: 'default', host: 'other.test' });
    assert.equal(evaluateName(p, 'other.test').verdict, 'audit');
  });

  it('renders secret references and validates policies', () => {
    assert.equal(renderInjection('Bearer {{secret:TOKEN}}', new Map([['TOKEN', 's3cr3t']])), 'Bearer s3cr3t');
    assert.throws(() => renderInjection('{{secret:NOPE}}', new Map()), { code: 'bad_request' });
    const names = new Set(['TOKEN']);
    validateNetworkPolicy({ mode: 'rules', rules: [{ action: 'allow', domain: '*.npmjs.org', ports: [443] }, { action: 'deny', cidr: '10.0.0.0/8' }], inject: [{ host: 'api.example.com', header: 'Authorization', value: 'Bearer {{secret:TOKEN}}' }] }, names);
    assert.throws(() => validateNetworkPolicy({ mode: 'rules', rules: [{ action: 'allow', domain: 'a.test', cidr: '1.2.3.4' }] }, names), { code: 'bad_request' });
    assert.throws(() => validateNetworkPolicy({ mode: 'rules', rules: [{ action: 'allow', cidr: '1.2.3.4/33' }] }, names), { code: 'bad_request' });
    assert.throws(() => validateNetworkPolicy({ mode: 'rules', rules: [{ action: 'allow', domain: 'a..test' }] }, names), { code: 'bad_request' });
    assert.throws(() => validateNetworkPolicy({ mode: 'rules', inject: [{ host: 'a.test', header: 'X', value: '{{secret:OTHER}}' }] }, names), { code: 'bad_request' });
    assert.throws(() => validateNetworkPolicy({ mode: 'rules', inject: [{ host: '*.a.test', header: 'X', value: 'v' }] }, names), { code: 'bad_request' });
  });
});
