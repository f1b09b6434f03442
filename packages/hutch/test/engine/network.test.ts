import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openTestEngine } from './helpers.js';

describe('engine: network policy', () => {
  it('refuses rules, audit and injection on a backend without network.egress_rules, never downgrading', async () => {
    const t = await openTestEngine({ fake: { without: ['network.egress_rules'] } });
    try {
      await assert.rejects(t.engine.lifecycle.create({ network: { mode: 'rules', rules: [{ action: 'allow', domain: 'a.test' }] } }), { code: 'capability_missing', details: { capability: 'network.egress_rules', backend: 'fake' } });
      const { id } = await t.engine.lifecycle.create({});
      await assert.rejects(t.engine.network.update(id, { mode: 'internet', audit: true }), { code: 'capability_missing' });
      assert.deepEqual(t.engine.network.get(id), { mode: 'none' });
    } finally {
      await t.cleanup();
    }
  });

  it('checks injections against the secrets given at create and keeps values out of the store', async () => {
    const t = await openTestEngine();
    try {
      const inject = [{ host: 'api.test', header: 'Authorization', value: 'Bearer {{secret:TOKEN}}' }];
      await assert.rejects(t.engine.lifecycle.create({ network: { mode: 'rules', inject } }), { code: 'bad_request' });
      await assert.rejects(t.engine.lifecycle.create({ secrets: [{ name: 'TOKEN', value: 'a\nb' }] }), { code: 'bad_request' });
      const info = await t.engine.lifecycle.create({ network: { mode: 'rules', inject }, secrets: [{ name: 'TOKEN', value: 'engine-secret-value' }] });
      await t.engine.network.update(info.id, { mode: 'rules', inject: [{ ...inject[0]!, header: 'X-Token' }] });
      await assert.rejects(t.engine.network.update(info.id, { mode: 'rules', inject: [{ ...inject[0]!, value: '{{secret:OTHER}}' }] }), { code: 'bad_request' });
      assert.ok(!JSON.stringify([t.engine.journal(), t.engine.events()]).includes('engine-secret-value'));
    } finally {
      await t.cleanup();
    }
  });
});
