/**
 * Template routes over an in-memory catalog (the real store is tested on the host in
 * test/templates), and snapshot export/import as files over the fake backend.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestError } from '../../src/domain/errors.js';
import type { TemplateCatalog } from '../../src/engine/templates.js';
import type { TemplateRecipe } from '../../src/templates/recipe.js';
import { TemplateNotFoundError, type TemplateInfo } from '../../src/templates/store.js';
import { openTestServer } from './helpers.js';

/** A catalog that "builds" by logging each step; `run: fail` fails the build. */
function memoryCatalog(): TemplateCatalog {
  const built = new Map<string, TemplateInfo>();
  const info = (name: string): TemplateInfo => ({ name, digest: 'd'.repeat(64), parent: null, sizeBytes: 1, fileCount: 1, env: [], workdir: null, user: null, start: null, ready: null, builtAt: new Date(0).toISOString() });
  return {
    async resolve(name) {
      if (!built.has(name)) throw new TemplateNotFoundError(name);
      return { name, rootfsPath: '/nonexistent', env: {} };
    },
    async build(recipe: TemplateRecipe, log) {
      for (const step of recipe.steps ?? []) {
        log(`step ${JSON.stringify(step)}`);
        if ('run' in step && step.run === 'fail') throw new BadRequestError('the build failed at a run step');
      }
      built.set(recipe.name, info(recipe.name));
      return built.get(recipe.name)!;
    },
    async list() {
      return [...built.values()];
    },
    async get(name) {
      const found = built.get(name);
      if (!found) throw new TemplateNotFoundError(name);
      return found;
    },
    async delete(name) {
      if (!built.delete(name)) throw new TemplateNotFoundError(name);
    },
  };
}

describe('template routes', () => {
  it('builds with streamed log lines, lists, gets and deletes', async () => {
    const t = await openTestServer({ engine: { templates: memoryCatalog() } });
    try {
      const recipe = { name: 'py', from: { template: 'base' }, steps: [{ run: 'pip install x' }, { env: { A: '1' } }] };
      const res = await t.request({ method: 'POST', url: '/v1/templates', payload: recipe });
      assert.equal(res.statusCode, 200);
      const frames = res.body.trim().split('\n').map((l) => JSON.parse(l) as { type: string; line?: string; template?: TemplateInfo });
      assert.deepEqual(frames.filter((f) => f.type === 'log').map((f) => f.line), ['step {"run":"pip install x"}', 'step {"env":{"A":"1"}}']);
      assert.equal(frames.at(-1)!.type, 'done');
      assert.equal(frames.at(-1)!.template!.name, 'py');
      assert.equal((await t.request({ method: 'POST', url: '/v1/templates?stream=false', payload: { ...recipe, name: 'py2' } })).json().name, 'py2');
      assert.deepEqual((await t.request({ method: 'GET', url: '/v1/templates' })).json().map((x: TemplateInfo) => x.name), ['py', 'py2']);
      assert.equal((await t.request({ method: 'GET', url: '/v1/templates/py' })).json().name, 'py');
      assert.equal((await t.request({ method: 'DELETE', url: '/v1/templates/py' })).statusCode, 204);
      const missing = await t.request({ method: 'GET', url: '/v1/templates/py' });
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json().code, 'template_not_found');
    } finally {
      await t.close();
    }
  });

  it('ends a failed build with an error frame, and refuses host paths and bad names', async () => {
    const t = await openTestServer({ engine: { templates: memoryCatalog() } });
    try {
      const res = await t.request({ method: 'POST', url: '/v1/templates', payload: { name: 'bad', from: { template: 'base' }, steps: [{ run: 'fail' }] } });
      const last = JSON.parse(res.body.trim().split('\n').at(-1)!) as { type: string; code: string };
      assert.deepEqual([last.type, last.code], ['error', 'bad_request']);
      for (const payload of [
        { name: 'x', from: { directory: '/etc' } },
        { name: 'x', from: { template: 'base' }, steps: [{ copy: { dest: '/a', src: '/etc/shadow' } }] },
        { name: 'Bad Name', from: { template: 'base' } },
      ]) {
        const refused = await t.request({ method: 'POST', url: '/v1/templates', payload });
        assert.equal(refused.statusCode, 400, JSON.stringify(payload));
        assert.equal(refused.json().code, 'bad_request');
      }
    } finally {
      await t.close();
    }
  });

  it('answers capability_missing when the server has no template store', async () => {
    const t = await openTestServer();
    try {
      const res = await t.request({ method: 'GET', url: '/v1/templates' });
      assert.equal(res.statusCode, 422);
      assert.equal(res.json().code, 'capability_missing');
    } finally {
      await t.close();
    }
  });
});

describe('snapshot files', () => {
  it('exports a snapshot and imports it again; a damaged file is refused', async () => {
    const t = await openTestServer();
    try {
      const sbx = (await t.request({ method: 'POST', url: '/v1/sandboxes', payload: {} })).json();
      await t.request({ method: 'PUT', url: `/v1/sandboxes/${sbx.id}/files?path=/workspace/x.txt`, payload: 'exported', headers: { 'content-type': 'application/octet-stream' } });
      const snap = (await t.request({ method: 'POST', url: `/v1/sandboxes/${sbx.id}/snapshots`, payload: {} })).json();
      const file = await t.request({ method: 'GET', url: `/v1/snapshots/${snap.id}/export` });
      assert.equal(file.statusCode, 200);
      assert.equal(file.headers['content-type'], 'application/octet-stream');
      const imported = await t.request({ method: 'POST', url: '/v1/snapshots/import', payload: file.rawPayload, headers: { 'content-type': 'application/octet-stream' } });
      assert.equal(imported.statusCode, 201);
      assert.equal(imported.json().sha256, snap.sha256);
      const restored = (await t.request({ method: 'POST', url: `/v1/snapshots/${imported.json().id}/restore`, payload: {} })).json();
      assert.equal((await t.request({ method: 'GET', url: `/v1/sandboxes/${restored.id}/files?path=/workspace/x.txt` })).body, 'exported');
      const damaged = Buffer.from(file.rawPayload);
      damaged[damaged.length - 3] ^= 0xff;
      const refused = await t.request({ method: 'POST', url: '/v1/snapshots/import', payload: damaged, headers: { 'content-type': 'application/octet-stream' } });
      assert.equal(refused.statusCode, 400);
      assert.match(refused.json().message, /does not match its recorded size and sha256/);
    } finally {
      await t.close();
    }
  });
});
