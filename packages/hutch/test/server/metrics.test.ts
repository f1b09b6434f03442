import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../engine/helpers.js';
import { createSandbox, openTestServer, type TestServer } from './helpers.js';

describe('metrics', () => {
  let server: TestServer;
  before(async () => {
    server = await openTestServer();
  });
  after(async () => server.close());

  const scrape = async () => {
    const res = await server.request({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /text\/plain/);
    return res.body;
  };

  it('reports sandboxes by state, process starts and request durations in Prometheus text', async () => {
    const a = await createSandbox(server);
    await createSandbox(server);
    await server.request({ method: 'POST', url: `/v1/sandboxes/${a.id}/pause` });
    await server.request({ method: 'POST', url: `/v1/sandboxes/${(await createSandbox(server)).id}/exec`, payload: { shell: 'true' } });
    await waitFor(() => server.engine.events({}).some((e) => e.type === 'process.started'));
    const text = await scrape();
    assert.match(text, /^# TYPE hutch_sandboxes gauge$/m);
    assert.match(text, /^hutch_sandboxes\{state="running"\} 2$/m);
    assert.match(text, /^hutch_sandboxes\{state="paused"\} 1$/m);
    assert.match(text, /^# TYPE hutch_process_starts_total counter$/m);
    assert.match(text, /^hutch_process_starts_total 1$/m);
    assert.match(text, /^# TYPE hutch_http_request_duration_seconds histogram$/m);
    assert.match(text, /^hutch_http_request_duration_seconds_count\{route="\/v1\/sandboxes",method="POST",status="201"\} 3$/m);
    assert.match(text, /^hutch_http_request_duration_seconds_bucket\{route="\/v1\/sandboxes\/:id\/pause",method="POST",status="200",le="\+Inf"\} 1$/m);
  });

  it('needs the API key', async () => {
    const res = await server.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 401);
  });
});
