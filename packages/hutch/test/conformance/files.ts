/** Conformance: the files API — round trips, listings, errors, confinement, and the view from exec. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readAll, requires, run, withSandbox, type Suite } from './harness.js';

export function filesCases(suite: Suite): void {
  describe('files', () => {
    it('writes and reads back bytes exactly, creating parents', async (t) => {
      if (!requires(t, suite, 'files')) return;
      await withSandbox(suite, async (id) => {
        const backend = suite.backend();
        const bytes = Buffer.from([0, 1, 2, 255, 10, 13, 0x80]);
        const entry = await backend.writeFile(id, '/workspace/a/b/data.bin', bytes);
        assert.equal(entry.type, 'file');
        assert.equal(entry.size, bytes.length);
        assert.equal(entry.path, '/workspace/a/b/data.bin');
        assert.deepEqual(await readAll(await backend.readFile(id, '/workspace/a/b/data.bin')), bytes);
        const streamed = (async function* () {
          yield Buffer.from('hello ');
          yield Buffer.from('world');
        })();
        await backend.writeFile(id, '/workspace/streamed.txt', streamed);
        assert.equal((await readAll(await backend.readFile(id, '/workspace/streamed.txt'))).toString(), 'hello world');
      });
    });

    it('lists with depth, stats, makes dirs, moves and removes', async (t) => {
      if (!requires(t, suite, 'files')) return;
      await withSandbox(suite, async (id) => {
        const b = suite.backend();
        await b.mkdir(id, '/workspace/d1/d2', { parents: true });
        await b.writeFile(id, '/workspace/d1/f1.txt', Buffer.from('1'));
        await b.writeFile(id, '/workspace/d1/d2/f2.txt', Buffer.from('22'));
        const shallow = (await b.listFiles(id, '/workspace/d1', { depth: 1 })).map((e) => e.path).sort();
        assert.deepEqual(shallow, ['/workspace/d1/d2', '/workspace/d1/f1.txt']);
        const deep = (await b.listFiles(id, '/workspace/d1', { depth: 2 })).map((e) => e.path).sort();
        assert.deepEqual(deep, ['/workspace/d1/d2', '/workspace/d1/d2/f2.txt', '/workspace/d1/f1.txt']);
        const stat = await b.stat(id, '/workspace/d1/d2/f2.txt');
        assert.equal(stat.size, 2);
        assert.equal((await b.stat(id, '/workspace/d1')).type, 'dir');
        await b.move(id, '/workspace/d1/f1.txt', '/workspace/moved.txt');
        await assert.rejects(b.stat(id, '/workspace/d1/f1.txt'), { code: 'file_not_found' });
        assert.equal((await readAll(await b.readFile(id, '/workspace/moved.txt'))).toString(), '1');
        await assert.rejects(b.remove(id, '/workspace/d1'), (err: { code?: string }) => err.code !== undefined);
        await b.remove(id, '/workspace/d1', { recursive: true });
        await assert.rejects(b.stat(id, '/workspace/d1'), { code: 'file_not_found' });
        await assert.rejects(b.mkdir(id, '/workspace/x/y'), { code: 'file_not_found' });
      });
    });

    it('refuses paths with .. and reports missing files as file_not_found', async (t) => {
      if (!requires(t, suite, 'files')) return;
      await withSandbox(suite, async (id) => {
        const b = suite.backend();
        await assert.rejects(b.readFile(id, '/workspace/../../etc/passwd'), { code: 'path_escape' });
        await assert.rejects(b.writeFile(id, '../outside.txt', Buffer.from('x')), { code: 'path_escape' });
        await assert.rejects(b.listFiles(id, '/workspace/..'), { code: 'path_escape' });
        await assert.rejects(b.readFile(id, '/workspace/missing.txt'), { code: 'file_not_found' });
      });
    });

    it('shares one filesystem between the files API and exec', async (t) => {
      if (!requires(t, suite, 'files')) return;
      await withSandbox(suite, async (id) => {
        const b = suite.backend();
        await b.writeFile(id, '/workspace/from-api.txt', Buffer.from('api'));
        assert.equal((await run(suite, id, { shell: 'cat /workspace/from-api.txt' })).stdout, 'api');
        await run(suite, id, { shell: 'echo exec > /workspace/from-exec.txt' });
        assert.equal((await readAll(await b.readFile(id, '/workspace/from-exec.txt'))).toString(), 'exec\n');
        await run(suite, id, { shell: 'ln -s /workspace/from-api.txt /workspace/link.txt' });
        assert.equal((await readAll(await b.readFile(id, '/workspace/link.txt'))).toString(), 'api');
      });
    });

    it('watches a directory for changes', async (t) => {
      if (!requires(t, suite, 'files', 'files.watch')) return;
      await withSandbox(suite, async (id) => {
        const b = suite.backend();
        const controller = new AbortController();
        const seen: string[] = [];
        const watching = (async () => {
          try {
            for await (const event of b.watch(id, '/workspace', { signal: controller.signal })) {
              seen.push(event.path);
              if (event.path === '/workspace/watched.txt') break;
            }
          } catch (err) {
            if (!controller.signal.aborted) throw err;
          }
        })();
        await new Promise((r) => setTimeout(r, 100));
        await b.writeFile(id, '/workspace/watched.txt', Buffer.from('w'));
        const timer = setTimeout(() => controller.abort(), 5000);
        await watching;
        clearTimeout(timer);
        assert.ok(seen.includes('/workspace/watched.txt'), `events: ${seen.join(',')}`);
      });
    });
  });
}
