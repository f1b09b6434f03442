/**
 * Codebase and workspace routes over the fake backend. The codebase store is the real one (it
 * unpacks uploads as an unprivileged user and gives files to the sandbox's root, so it needs
 * root); workspace routes are checked against a recording provider, since the fake backend cannot
 * mount a workspace (the process-tier happy path is in test/workspaces and test/e2e).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Static } from '@sinclair/typebox';
import type { WorkspaceRequest as WireWorkspaceRequest } from '@hutch/protocol';
import type { WorkspaceProvider } from '../../src/engine/workspaces.js';
import type { WorkspaceRequestSchema } from '../../src/server/schemas/workspace.js';
import { createWorkspaceProvider } from '../../src/workspaces/index.js';
import { createSandbox, openTestServer, type TestServer } from './helpers.js';

// The SDK's wire type and the server's schema accept the same create requests.
const _wireMatchesSchema: Static<typeof WorkspaceRequestSchema> = {} as WireWorkspaceRequest;
const _schemaMatchesWire: WireWorkspaceRequest = {} as Static<typeof WorkspaceRequestSchema>;
void _wireMatchesSchema;
void _schemaMatchesWire;

const rootSkip = process.getuid?.() === 0 ? false : 'the codebase store needs root (it chowns files to the sandbox id range)';

/** A tar archive of `files` (path → content). */
function tarOf(files: Record<string, string>): Buffer {
  const dir = mkdtempSync('/var/tmp/hutch-cb-src-');
  try {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    return execFileSync('tar', ['-c', '-f', '-', '-C', dir, '.']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('codebase and workspace routes without a codebase store', () => {
  it('answer capability_missing', async () => {
    const t = await openTestServer();
    try {
      const sbx = await createSandbox(t);
      for (const [method, url] of [['GET', '/v1/codebases'], ['GET', '/v1/codebases/app'], ['GET', `/v1/sandboxes/${sbx.id}/workspace/changes`], ['POST', `/v1/sandboxes/${sbx.id}/workspace/commit`]] as const) {
        const res = await t.request({ method, url });
        assert.equal(res.json().code, 'capability_missing', `${method} ${url}`);
      }
    } finally {
      await t.close();
    }
  });
});

describe('codebase routes (real store)', { skip: rootSkip }, () => {
  let t: TestServer;
  let storeDir: string;

  before(async () => {
    storeDir = mkdtempSync('/var/tmp/hutch-cb-routes-');
    chmodSync(storeDir, 0o711);
    t = await openTestServer({ engine: { workspaces: createWorkspaceProvider(storeDir) } });
  });
  after(async () => {
    await t.close();
    rmSync(storeDir, { recursive: true, force: true });
  });

  const upload = (name: string, body: Buffer) => t.request({ method: 'POST', url: `/v1/codebases?name=${name}`, payload: body, headers: { 'content-type': 'application/x-tar' } });

  it('uploads a tar, lists, gets by id or name, and deletes', async () => {
    const res = await upload('app', tarOf({ 'README.md': 'hello\n', 'src/main.py': 'print(1)\n' }));
    assert.equal(res.statusCode, 201, res.body);
    const info = res.json() as { id: string; name: string; sizeBytes: number; fileCount: number };
    assert.match(info.id, /^cb_[a-z0-9]+$/);
    assert.equal(info.name, 'app');
    assert.equal(info.sizeBytes, 15);
    assert.equal(info.fileCount, 3, 'README.md, src, src/main.py');
    assert.deepEqual((await t.request({ method: 'GET', url: '/v1/codebases' })).json().map((c: { name: string }) => c.name), ['app']);
    assert.equal((await t.request({ method: 'GET', url: `/v1/codebases/${info.id}` })).json().name, 'app');
    assert.equal((await t.request({ method: 'GET', url: '/v1/codebases/app' })).json().id, info.id);
    assert.equal((await t.request({ method: 'DELETE', url: '/v1/codebases/app' })).statusCode, 204);
    const gone = await t.request({ method: 'GET', url: `/v1/codebases/${info.id}` });
    assert.equal(gone.statusCode, 404);
    assert.equal(gone.json().code, 'codebase_not_found');
  });

  it('refuses bad and duplicate names, and archives tar cannot read', async () => {
    const bad = await upload('Bad%20Name', tarOf({ a: 'a' }));
    assert.equal(bad.statusCode, 400);
    assert.equal((await upload('dup', tarOf({ a: 'a' }))).statusCode, 201);
    const dup = await upload('dup', tarOf({ a: 'a' }));
    assert.equal(dup.statusCode, 400);
    assert.match(dup.json().message, /already exists/);
    const junk = await upload('junk', Buffer.from('not a tar archive at all'.repeat(40)));
    assert.equal(junk.statusCode, 400);
    assert.equal(junk.json().code, 'bad_request');
    assert.equal((await t.request({ method: 'GET', url: '/v1/codebases/junk' })).statusCode, 404, 'a failed upload leaves nothing behind');
    await t.request({ method: 'DELETE', url: '/v1/codebases/dup' });
  });

  it('reads, writes, lists and removes files, and refuses paths that leave the codebase', async () => {
    assert.equal((await upload('files', tarOf({ 'README.md': 'hello\n', 'src/main.py': 'print(1)\n' }))).statusCode, 201);
    assert.equal((await t.request({ method: 'GET', url: '/v1/codebases/files/files?path=/src/main.py' })).body, 'print(1)\n');
    const put = await t.request({ method: 'PUT', url: '/v1/codebases/files/files?path=/src/pkg/new.py&mode=0640', payload: Buffer.from('x = 1\n'), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(put.statusCode, 200, put.body);
    assert.equal(put.json().size, 6);
    const listed = (await t.request({ method: 'GET', url: '/v1/codebases/files/files/list?path=/src&depth=2' })).json() as Array<{ path: string }>;
    assert.deepEqual(listed.map((e) => e.path).sort(), ['/src/main.py', '/src/pkg', '/src/pkg/new.py']);
    assert.equal((await t.request({ method: 'GET', url: '/v1/codebases/files' })).json().fileCount, 5);
    assert.equal((await t.request({ method: 'DELETE', url: '/v1/codebases/files/files?path=/src/pkg' })).statusCode, 204);
    assert.equal((await t.request({ method: 'GET', url: '/v1/codebases/files/files?path=/src/pkg/new.py' })).json().code, 'file_not_found');
    for (const path of ['../../../etc/passwd', '/../meta.json', '/src/../../meta.json']) {
      const res = await t.request({ method: 'GET', url: `/v1/codebases/files/files?path=${encodeURIComponent(path)}` });
      assert.ok(['path_escape', 'file_not_found'].includes(res.json().code), `${path}: ${res.body}`);
      assert.doesNotMatch(res.body, /root:|"codebaseId"|cb_/);
      const write = await t.request({ method: 'PUT', url: `/v1/codebases/files/files?path=${encodeURIComponent(path)}`, payload: Buffer.from('x'), headers: { 'content-type': 'application/octet-stream' } });
      assert.ok(write.statusCode >= 400, `${path}: ${write.body}`);
    }
    const archive = await t.request({ method: 'GET', url: '/v1/codebases/files/archive' });
    assert.equal(archive.headers['content-type'], 'application/x-tar');
    const names = execFileSync('tar', ['-t', '-f', '-'], { input: archive.rawPayload }).toString().split('\n').filter(Boolean).sort();
    assert.deepEqual(names, ['./', './README.md', './src/', './src/main.py']);
    await t.request({ method: 'DELETE', url: '/v1/codebases/files' });
  });

  it('unknown codebases answer codebase_not_found on every route, and a create naming one fails', async () => {
    for (const [method, url] of [['GET', '/v1/codebases/nope'], ['DELETE', '/v1/codebases/nope'], ['GET', '/v1/codebases/nope/files?path=/a'], ['GET', '/v1/codebases/nope/files/list?path=/'], ['GET', '/v1/codebases/nope/archive']] as const) {
      const res = await t.request({ method, url });
      assert.equal(res.statusCode, 404, `${method} ${url}`);
      assert.equal(res.json().code, 'codebase_not_found', `${method} ${url}`);
    }
    const res = await t.request({ method: 'POST', url: '/v1/sandboxes', payload: { workspace: { codebase: 'nope', preset: 'agent-safe' } } });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, 'codebase_not_found');
    const bad = await t.request({ method: 'POST', url: '/v1/sandboxes', payload: { workspace: { codebase: 'x', rules: [{ pattern: 'a', level: 'admin' }] } } });
    assert.equal(bad.statusCode, 400);
  });

  it('a backend without the `workspaces` capability refuses a workspace create', async () => {
    const u = await openTestServer({ fake: { without: ['workspaces'] }, engine: { workspaces: createWorkspaceProvider(storeDir) } });
    try {
      const res = await u.request({ method: 'POST', url: '/v1/sandboxes', payload: { workspace: { codebase: 'app' } } });
      assert.equal(res.json().code, 'capability_missing');
    } finally {
      await u.close();
    }
  });

  it('creates a sandbox with a workspace (mounted, no changes yet) and releases it on destroy', async () => {
    assert.equal((await upload('mounted', tarOf({ 'src/a.py': 'a\n' }))).statusCode, 201);
    const sbx = await createSandbox(t, { workspace: { codebase: 'mounted', rules: [{ pattern: 'src/', level: 'write' }] } });
    assert.deepEqual((await t.request({ method: 'GET', url: `/v1/sandboxes/${sbx.id}/workspace/changes` })).json(), { changes: [] });
    assert.equal((await t.request({ method: 'POST', url: `/v1/sandboxes/${sbx.id}/workspace/checkpoints`, payload: { name: 'empty' } })).json().changeCount, 0);
    assert.equal((await t.request({ method: 'DELETE', url: `/v1/sandboxes/${sbx.id}` })).statusCode, 200);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(storeDir));
    assert.deepEqual(mounts, [], 'the overlay is unmounted');
    await t.request({ method: 'DELETE', url: '/v1/codebases/mounted' });
  });

  it('a sandbox without a workspace answers not_found on the workspace routes', async () => {
    const sbx = await createSandbox(t);
    const res = await t.request({ method: 'GET', url: `/v1/sandboxes/${sbx.id}/workspace/changes` });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, 'not_found');
    assert.match(res.json().message, /has no workspace/);
  });
});

describe('workspace routes (recording provider)', () => {
  let t: TestServer;
  const calls: Array<[string, unknown]> = [];
  const change = { path: 'src/a.py', kind: 'modified' as const, type: 'file' as const, size: 2, previousSize: 1, diff: '--- a/src/a.py\n' };
  const provider = {
    codebases: {} as WorkspaceProvider['codebases'],
    prepare: async () => ({ path: '/workspace', mounts: [] }),
    release: async () => true,
    reconcile: async () => undefined,
    changes: async (_id: string, options: unknown) => (calls.push(['changes', options]), [change]),
    checkpoint: async (_id: string, name: string) => (calls.push(['checkpoint', name]), { name, createdAt: new Date(0).toISOString(), changeCount: 1 }),
    checkpoints: async () => [{ name: 'cp1', createdAt: new Date(0).toISOString(), changeCount: 1 }],
    revert: async (_id: string, options: unknown) => (calls.push(['revert', options]), [change]),
    commit: async (_id: string, options: unknown) => (calls.push(['commit', options]), { committed: ['src/a.py'], skipped: [{ path: '.env', reason: 'not write' }] }),
  } satisfies WorkspaceProvider;

  before(async () => {
    t = await openTestServer({ engine: { workspaces: provider } });
  });
  after(async () => t.close());

  it('passes since/diff, checkpoint names, revert and commit bodies through, and serialises the results', async () => {
    const sbx = await createSandbox(t);
    const base = `/v1/sandboxes/${sbx.id}/workspace`;
    assert.deepEqual((await t.request({ method: 'GET', url: `${base}/changes` })).json(), { changes: [change] });
    await t.request({ method: 'GET', url: `${base}/changes?since=cp1&diff=false` });
    assert.equal((await t.request({ method: 'POST', url: `${base}/checkpoints`, payload: { name: 'cp1' } })).json().name, 'cp1');
    assert.equal((await t.request({ method: 'POST', url: `${base}/checkpoints`, payload: { name: '../x' } })).statusCode, 400);
    assert.deepEqual((await t.request({ method: 'GET', url: `${base}/checkpoints` })).json().map((c: { name: string }) => c.name), ['cp1']);
    assert.deepEqual((await t.request({ method: 'POST', url: `${base}/revert` })).json(), { changes: [change] });
    await t.request({ method: 'POST', url: `${base}/revert`, payload: { paths: ['src/a.py'], to: 'start' } });
    const commit = await t.request({ method: 'POST', url: `${base}/commit`, payload: { paths: ['src'] } });
    assert.deepEqual(commit.json(), { committed: ['src/a.py'], skipped: [{ path: '.env', reason: 'not write' }] });
    assert.deepEqual(calls, [
      ['changes', { diff: true }],
      ['changes', { since: 'cp1', diff: false }],
      ['checkpoint', 'cp1'],
      ['revert', {}],
      ['revert', { paths: ['src/a.py'], to: 'start' }],
      ['commit', { paths: ['src'] }],
    ]);
    const events = (await t.request({ method: 'GET', url: `/v1/sandboxes/${sbx.id}/events` })).json() as Array<{ type: string }>;
    assert.deepEqual(events.map((e) => e.type).filter((type) => type.startsWith('workspace.')), ['workspace.checkpoint', 'workspace.reverted', 'workspace.reverted', 'workspace.committed']);
  });

  it('refuses workspace operations on destroyed sandboxes and unknown ids', async () => {
    const sbx = await createSandbox(t);
    await t.request({ method: 'DELETE', url: `/v1/sandboxes/${sbx.id}` });
    const res = await t.request({ method: 'GET', url: `/v1/sandboxes/${sbx.id}/workspace/changes` });
    assert.equal(res.json().code, 'invalid_transition');
    assert.equal((await t.request({ method: 'POST', url: '/v1/sandboxes/sbxnope/workspace/commit' })).json().code, 'sandbox_not_found');
  });
});
