import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SandboxInfo } from '../../domain/sandbox.js';
import { pageSandboxes, parseMetadataFilter, parseStates, toE2bDetail } from './sandbox-views.js';

function sandbox(id: string, createdAt: string, metadata: Record<string, string> = {}): SandboxInfo {
  return { id, backend: 'fake', template: 'base', state: 'running', failureReason: null, resources: {}, network: { mode: 'none' }, metadata, envKeys: [], createdAt, deadlineAt: null, onTimeout: 'destroy', destroyedAt: null };
}

describe('E2B sandbox views', () => {
  it('decodes the metadata filter the SDK encodes three times', () => {
    // {k: "v 1&", "a=b": "c"} as it reaches the route: the SDK's value once the query is decoded.
    const routeValue = new URLSearchParams({ k: encodeURIComponent('v 1&'), [encodeURIComponent('a=b')]: 'c' }).toString();
    assert.equal(routeValue.startsWith('k=v%25201%2526'), true, 'as captured on the wire, decoded once');
    assert.deepEqual(parseMetadataFilter(routeValue), { k: 'v 1&', 'a=b': 'c' });
    assert.deepEqual(parseMetadataFilter(undefined), {});
  });

  it('reads states comma-separated or repeated, both by default', () => {
    assert.deepEqual(parseStates(undefined), ['running', 'paused']);
    assert.deepEqual(parseStates('running,paused'), ['running', 'paused']);
    assert.deepEqual(parseStates(['paused']), ['paused']);
    assert.throws(() => parseStates('stopped'), /Unknown state/);
  });

  it('pages newest first by default, with a next token only while more items exist', () => {
    const items = [sandbox('a', '2025-01-01T00:00:00Z', { t: 'x' }), sandbox('b', '2025-01-02T00:00:00Z', { t: 'x' }), sandbox('c', '2025-01-03T00:00:00Z'), sandbox('d', '2025-01-02T00:00:00Z', { t: 'x' })];
    const first = pageSandboxes(items, { limit: 2 });
    assert.deepEqual(first.items.map((s) => s.id), ['c', 'd']);
    assert.ok(first.nextToken);
    const second = pageSandboxes(items, { limit: 2, nextToken: first.nextToken });
    assert.deepEqual(second.items.map((s) => s.id), ['b', 'a']);
    assert.equal(second.nextToken, undefined);
    assert.deepEqual(pageSandboxes(items, { order: 'asc', metadata: 't=x' }).items.map((s) => s.id), ['a', 'b', 'd']);
    assert.deepEqual(pageSandboxes(items, { startedAfter: '2025-01-02T00:00:00Z', order: 'asc' }).items.map((s) => s.id), ['b', 'd', 'c']);
    assert.throws(() => pageSandboxes(items, { nextToken: 'garbage' }), /nextToken/);
  });

  it('reports kill/pause lifecycles and a far endAt without a deadline', () => {
    const detail = toE2bDetail({ ...sandbox('a', '2025-01-01T00:00:00Z'), onTimeout: 'pause' }, 'tok', 'localhost:1');
    assert.equal(detail.lifecycle.onTimeout, 'pause');
    assert.equal(detail.endAt, '9999-12-31T23:59:59.000Z');
    assert.equal(detail.envdAccessToken, 'tok');
  });
});
