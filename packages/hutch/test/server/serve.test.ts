import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { createFakeBackend } from '../../src/backends/fake/index.js';
import { BackendRegistry } from '../../src/port/registry.js';
import { serve, type ServeOptions } from '../../src/server/index.js';
import { tempDir } from '../engine/helpers.js';

describe('serve', () => {
  const dataDir = tempDir('hutch-serve-test-');
  const registry = new BackendRegistry().register(createFakeBackend());
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  const start = (lines: string[], extra: Partial<ServeOptions> = {}) =>
    serve({ registry, dataDir, host: '127.0.0.1', port: 0, quiet: true, handleSignals: false, print: (line) => lines.push(line), env: {}, ...extra });

  it('creates an API key on first start and prints it once; ends open streams on close; sandboxes survive a restart', async () => {
    const printed: string[] = [];
    const first = await start(printed);
    const key = /(hutch_[0-9a-f]{64})/.exec(printed.join('\n'))?.[1];
    assert.ok(key, 'the new key is printed');
    const headers = { authorization: `Bearer ${key}` };
    const created = await fetch(`${first.url}/v1/sandboxes`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(created.status, 201);
    const { id } = (await created.json()) as { id: string };

    const follow = await fetch(`${first.url}/v1/sandboxes/${id}/events?follow=true`, { headers });
    const reader = follow.body!.getReader();
    await reader.read();
    await first.close();
    // The stream was ended by the shutdown rather than left hanging.
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read());

    const again: string[] = [];
    const second = await start(again);
    try {
      assert.ok(!again.join('\n').includes('hutch_'), 'the key is printed only once');
      const res = await fetch(`${second.url}/v1/sandboxes/${id}`, { headers });
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { state: string }).state, 'running', 'adopted after the restart');
    } finally {
      await second.close();
    }
  });

  it('lets HUTCH_API_KEY override the stored key', async () => {
    const server = await start([], { env: { HUTCH_API_KEY: 'hutch_my_own_key' } });
    try {
      assert.equal((await fetch(`${server.url}/v1/sandboxes`, { headers: { 'x-api-key': 'hutch_my_own_key' } })).status, 200);
      assert.equal((await fetch(`${server.url}/v1/sandboxes`, { headers: { 'x-api-key': 'hutch_other' } })).status, 401);
    } finally {
      await server.close();
    }
  });
});
