import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AUTH, createSandbox, openTestServer, readFramesUntil, type TestServer } from './helpers.js';

describe('network routes', () => {
  let server: TestServer;
  before(async () => {
    server = await openTestServer({ listen: true });
  });
  after(async () => server.close());

  it('reads and replaces the policy, journals a `network` effect and emits an event', async () => {
    const { id } = await createSandbox(server);
    assert.deepEqual((await server.request({ method: 'GET', url: `/v1/sandboxes/${id}/network` })).json(), { mode: 'none' });
    const policy = { mode: 'rules', audit: true, rules: [{ action: 'allow', domain: '*.npmjs.org', ports: [443] }, { action: 'deny', cidr: '10.0.0.0/8' }] };
    const res = await server.request({ method: 'PUT', url: `/v1/sandboxes/${id}/network`, payload: policy });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), policy);
    assert.deepEqual((await server.request({ method: 'GET', url: `/v1/sandboxes/${id}` })).json().network, policy);
    const journal = server.engine.journal({ sandboxId: id }).filter((j) => j.effect === 'network');
    assert.deepEqual(journal.map((j) => j.phase), ['intent', 'result']);
    assert.ok(server.engine.events({ sandboxId: id }).some((e) => e.type === 'sandbox.network'));
  });

  it('refuses invalid policies and injections naming unknown secrets', async () => {
    const { id } = await createSandbox(server);
    const bad = await server.request({ method: 'PUT', url: `/v1/sandboxes/${id}/network`, payload: { mode: 'rules', rules: [{ action: 'allow', cidr: '1.2.3.4/40' }] } });
    assert.equal(bad.statusCode, 400);
    const unknown = await server.request({ method: 'PUT', url: `/v1/sandboxes/${id}/network`, payload: { mode: 'rules', inject: [{ host: 'a.test', header: 'X-Key', value: '{{secret:NOPE}}' }] } });
    assert.equal(unknown.statusCode, 400);
    assert.equal(unknown.json().code, 'bad_request');
  });

  it('never returns or journals secret values given at create', async () => {
    const secret = 'sekret-value-for-test-0123';
    const res = await server.request({
      method: 'POST',
      url: '/v1/sandboxes',
      payload: { network: { mode: 'rules', rules: [{ action: 'allow', domain: 'api.example.com' }], inject: [{ host: 'api.example.com', header: 'Authorization', value: 'Bearer {{secret:TOKEN}}' }] }, secrets: [{ name: 'TOKEN', value: secret }] },
    });
    assert.equal(res.statusCode, 201, res.body);
    const id = res.json().id as string;
    const everything = JSON.stringify([res.json(), server.engine.journal({ sandboxId: id }), server.engine.events({ sandboxId: id }), (await server.request({ method: 'GET', url: `/v1/sandboxes/${id}/network` })).json()]);
    assert.ok(!everything.includes(secret));
    assert.ok(everything.includes('{{secret:TOKEN}}'));
  });

  it('lists decisions after a sequence number and follows new ones', async () => {
    const { id } = await createSandbox(server);
    const first = server.fake.addDecision(id, { kind: 'connect', host: 'allowed.test', ip: '10.0.0.2', port: 80, verdict: 'allow', rule: 'rules[0]' });
    server.fake.addDecision(id, { kind: 'dns', host: 'other.test', ip: null, port: 53, verdict: 'deny', rule: 'default' });
    const listed = (await server.request({ method: 'GET', url: `/v1/sandboxes/${id}/network/decisions?after=${first.seq}` })).json();
    assert.deepEqual(listed.map((d: { host: string }) => d.host), ['other.test']);
    const res = await fetch(`${server.url}/v1/sandboxes/${id}/network/decisions?follow=true`, { headers: AUTH });
    const frames = await readFramesUntil(res, async (frame) => {
      if (frame.host === 'other.test') server.fake.addDecision(id, { kind: 'connect', host: 'late.test', ip: '10.0.0.9', port: 443, verdict: 'audit', rule: 'default' });
      return frame.host === 'late.test';
    });
    assert.deepEqual(frames.filter((f) => f.type === 'decision').map((f) => f.host), ['allowed.test', 'other.test', 'late.test']);
  });

  it('reports egress bytes in stats', async () => {
    const { id } = await createSandbox(server);
    assert.equal((await server.request({ method: 'GET', url: `/v1/sandboxes/${id}/stats` })).json().networkEgressBytes, 0);
    const metrics = (await server.request({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, new RegExp(`hutch_sandbox_network_egress_bytes\\{sandbox="${id}"\\} 0`));
  });
});
