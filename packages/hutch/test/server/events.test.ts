import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AUTH, createSandbox, openTestServer, parseSse, readFramesUntil, type TestServer } from './helpers.js';

describe('event routes', () => {
  let server: TestServer;
  before(async () => {
    server = await openTestServer({ listen: true });
  });
  after(async () => server.close());

  it('lists stored events, after a sequence number', async () => {
    const { id } = await createSandbox(server);
    await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/pause` });
    const res = await server.request({ method: 'GET', url: `/v1/sandboxes/${id}/events` });
    assert.equal(res.statusCode, 200);
    const events = res.json() as Array<{ seq: number; type: string; sandboxId: string }>;
    assert.deepEqual(events.map((e) => e.type), ['sandbox.created', 'sandbox.paused']);
    assert.ok(events.every((e) => e.sandboxId === id));
    const later = await server.request({ method: 'GET', url: `/v1/sandboxes/${id}/events?after=${events[0]!.seq}` });
    assert.deepEqual(later.json().map((e: { type: string }) => e.type), ['sandbox.paused']);
  });

  it('follows stored then live events as NDJSON', async () => {
    const { id } = await createSandbox(server);
    const res = await fetch(`${server.url}/v1/sandboxes/${id}/events?follow=true`, { headers: AUTH });
    assert.match(res.headers.get('content-type') ?? '', /application\/x-ndjson/);
    const frames = await readFramesUntil(res, async (frame) => {
      if (frame.type === 'sandbox.created') await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/pause` });
      return frame.type === 'sandbox.paused';
    });
    assert.deepEqual(frames.filter((f) => f.type !== 'keepalive').map((f) => f.type), ['sandbox.created', 'sandbox.paused']);
  });

  it('follows as SSE with event names and ids', async () => {
    const { id } = await createSandbox(server);
    const controller = new AbortController();
    const res = await fetch(`${server.url}/v1/sandboxes/${id}/events?follow=true`, { headers: { ...AUTH, accept: 'text/event-stream' }, signal: controller.signal });
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const [first] = parseSse(text);
    assert.equal(first?.event, 'sandbox.created');
    assert.equal(first?.id, String(first?.data.seq));
  });

  it('answers 404 before streaming for an unknown sandbox', async () => {
    const res = await server.request({ method: 'GET', url: '/v1/sandboxes/sbxnope/events?follow=true' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, 'sandbox_not_found');
  });
});
