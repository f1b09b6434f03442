/** Unit tests of `Codebases` and `sandbox.workspace` against a recording HTTP server: request shapes and typed errors. */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Codebases } from './codebases.js';
import { ConnectionConfig } from './connection-config.js';
import { createBody } from './create-options.js';
import { NotFoundError } from './errors.js';
import { Sandbox } from './sandbox.js';

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
}

describe('Codebases and sandbox.workspace', () => {
  let server: Server;
  let apiUrl: string;
  const seen: Seen[] = [];
  const info = { id: 'cb_1', name: 'app', sizeBytes: 1, fileCount: 1, createdAt: '', updatedAt: '' };

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, contentType: req.headers['content-type'], body: Buffer.concat(chunks).toString() });
        res.setHeader('content-type', 'application/json');
        if (req.url!.startsWith('/v1/codebases/nope')) {
          res.statusCode = 404;
          return res.end(JSON.stringify({ code: 'codebase_not_found', message: 'Codebase "nope" was not found.' }));
        }
        if (req.url!.includes('/workspace/')) return res.end(JSON.stringify(req.url!.endsWith('/commit') ? { committed: [], skipped: [] } : { changes: [] }));
        res.statusCode = req.method === 'POST' ? 201 : 200;
        res.end(JSON.stringify(info));
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((done) => server.close(() => done())));

  it('streams an upload from an async iterable, with the name in the query', async () => {
    async function* tar() {
      yield new TextEncoder().encode('part1-');
      yield new TextEncoder().encode('part2');
    }
    assert.deepEqual(await Codebases.upload('app', tar(), { apiUrl }), info);
    const last = seen.at(-1)!;
    assert.deepEqual([last.method, last.url, last.contentType, last.body], ['POST', '/v1/codebases?name=app', 'application/x-tar', 'part1-part2']);
  });

  it('maps codebase_not_found to NotFoundError', async () => {
    await assert.rejects(Codebases.get('nope', { apiUrl }), (err: unknown) => err instanceof NotFoundError && err.code === 'codebase_not_found' && err.status === 404);
  });

  it('writes files with mode and path in the query', async () => {
    await Codebases.writeFile('app', '/src/a.py', 'x', { apiUrl, mode: 0o640 });
    assert.equal(seen.at(-1)!.url, '/v1/codebases/app/files?path=%2Fsrc%2Fa.py&mode=640');
  });

  it('passes the workspace through create, and sends revert/commit/changes bodies', async () => {
    const workspace = { codebase: 'app', preset: 'agent-safe' as const, rules: [{ pattern: 'src/', level: 'write' as const }] };
    assert.deepEqual(createBody({ workspace }).workspace, workspace);
    const sandbox = new Sandbox({ id: 'sbx1' } as never, new ConnectionConfig({ apiUrl }));
    await sandbox.workspace.changes({ since: 'cp1', diff: false });
    assert.equal(seen.at(-1)!.url, '/v1/sandboxes/sbx1/workspace/changes?since=cp1&diff=false');
    await sandbox.workspace.revert({ all: true, to: 'start' });
    assert.equal(seen.at(-1)!.body, '{"to":"start"}');
    await sandbox.workspace.revert({ paths: ['src/a.py'] });
    assert.equal(seen.at(-1)!.body, '{"paths":["src/a.py"]}');
    await assert.rejects(sandbox.workspace.revert({ paths: [] }), TypeError);
    await sandbox.workspace.commit();
    assert.equal(seen.at(-1)!.body, '{}');
  });
});
