import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ERROR_CODES, HTTP_STATUS } from '@hutch/protocol';
import { errorToResponse } from '../../src/server/index.js';
import { HutchError } from '../../src/domain/errors.js';
import { openTestServer, type TestServer } from './helpers.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../../../../..');

/** (method, path) pairs of the route table in docs/api.md, with `·` alternatives expanded. */
function documentedRoutes(): Array<{ method: string; path: string }> {
  const text = readFileSync(join(repoRoot, 'docs/api.md'), 'utf8');
  const routes: Array<{ method: string; path: string }> = [];
  for (const line of text.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const method = cells[1]?.split(' ')[0];
    if (!method || !/^(GET|POST|PUT|DELETE)$/.test(method)) continue;
    const paths = [...(cells[2] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    let base = paths[0]!;
    for (const [i, alt] of paths.entries()) {
      if (i === 0 || alt.startsWith('/v1') || alt === '/' || alt === '/metrics') {
        base = alt;
        routes.push({ method, path: alt });
        continue;
      }
      const segments = base.split('/');
      const first = alt.split('/')[1]!;
      const at = segments.lastIndexOf(first);
      const prefix = at >= 0 ? segments.slice(0, at).join('/') : segments.slice(0, -1).join('/');
      routes.push({ method, path: `${prefix}${alt}` });
    }
  }
  return routes;
}

describe('OpenAPI document', () => {
  let server: TestServer;
  let doc: { openapi: string; paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } };
  before(async () => {
    server = await openTestServer();
    const res = await server.request({ method: 'GET', url: '/v1/openapi.json' });
    assert.equal(res.statusCode, 200);
    doc = res.json();
  });
  after(async () => server.close());

  it('is an OpenAPI 3 document with only /v1 paths', () => {
    assert.match(doc.openapi, /^3\./);
    assert.ok(Object.keys(doc.paths).length > 30);
    assert.ok(Object.keys(doc.paths).every((p) => p.startsWith('/v1/')));
  });

  it('has every route of docs/api.md, and every /v1 route it has is in docs/api.md', async () => {
    const documented = documentedRoutes();
    assert.ok(documented.length >= 40, `parsed ${documented.length} routes`);
    for (const { method, path } of documented) {
      if (!path.startsWith('/v1/')) {
        const res = await server.request({ method: method as 'GET', url: path });
        assert.equal(res.statusCode, 200, `${method} ${path}`);
        continue;
      }
      assert.ok(doc.paths[path]?.[method.toLowerCase()], `${method} ${path} missing from the OpenAPI document`);
    }
    const wanted = new Set(documented.map((r) => `${r.method} ${r.path}`));
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const method of Object.keys(operations)) assert.ok(wanted.has(`${method.toUpperCase()} ${path}`), `${method.toUpperCase()} ${path} is served but not in docs/api.md`);
    }
  });

  it('declares an error response on every operation, with every error code in the Error schema', () => {
    const text = JSON.stringify(doc.components.schemas.Error);
    for (const code of ERROR_CODES) assert.ok(text.includes(`"${code}"`), `${code} missing from the Error schema`);
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(operations)) {
        const responses = (op as { responses?: Record<string, unknown> }).responses ?? {};
        assert.ok(JSON.stringify(responses.default ?? {}).includes('#/components/schemas/Error'), `${method} ${path} has no default Error response`);
      }
    }
  });
});

describe('error codes', () => {
  it('are each listed in docs/errors.md with their status', () => {
    const text = readFileSync(join(repoRoot, 'docs/errors.md'), 'utf8');
    for (const code of ERROR_CODES) {
      const row = text.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
      assert.ok(row, `${code} missing from docs/errors.md`);
      assert.ok(row.includes(`| ${HTTP_STATUS[code]} |`), `${code} has the wrong status in docs/errors.md`);
    }
  });

  it('map to the status of the one table', () => {
    for (const code of ERROR_CODES) {
      const response = errorToResponse(new HutchError(code, 'm', { k: 1 }));
      assert.equal(response.status, HTTP_STATUS[code]);
      assert.deepEqual(response.body, { code, message: 'm', details: { k: 1 } });
    }
    assert.deepEqual(errorToResponse(new Error('secret')).body, { code: 'internal', message: 'Internal server error. The server log has the details.' });
  });
});
