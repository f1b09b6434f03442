/** Conformance: the lifecycle state machine, its invalid transitions, and destroy. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collect, requires, run, sandboxSpec, withSandbox, type Suite } from './harness.js';

export function lifecycleCases(suite: Suite): void {
  describe('lifecycle', () => {
    it('reports its kind, version and health', () => {
      const report = suite.report();
      assert.ok(report.kind.length > 0);
      assert.ok(report.version.length > 0);
      assert.ok(['healthy', 'degraded', 'unsupported_host'].includes(report.health.status));
    });

    it('creates without starting anything, then starts and runs a command', async () => {
      const backend = suite.backend();
      const spec = sandboxSpec(suite);
      await backend.create(spec);
      try {
        await assert.rejects(backend.exec(spec.id, { shell: 'true' }), { code: 'invalid_transition' });
        await backend.start(spec.id);
        const result = await run(suite, spec.id, { shell: 'echo ready' });
        assert.equal(result.stdout, 'ready\n');
      } finally {
        await backend.destroy(spec.id);
      }
    });

    it('refuses to start a running sandbox', async () => {
      await withSandbox(suite, async (id) => {
        await assert.rejects(suite.backend().start(id), { code: 'invalid_transition' });
      });
    });

    it('throws sandbox_not_found for an unknown id', async () => {
      const backend = suite.backend();
      await assert.rejects(backend.exec('sbx_conf_missing', { shell: 'true' }), { code: 'sandbox_not_found' });
      await assert.rejects(backend.destroy('sbx_conf_missing'), { code: 'sandbox_not_found' });
      await assert.rejects(backend.start('sbx_conf_missing'), { code: 'sandbox_not_found' });
    });

    it('destroys a sandbox: running processes end as sandbox_destroyed, the id is gone', async (t) => {
      if (!requires(t, suite, 'exec.background')) return;
      const backend = suite.backend();
      const spec = sandboxSpec(suite);
      await backend.create(spec);
      await backend.start(spec.id);
      const handle = await backend.exec(spec.id, { shell: 'sleep 30' });
      const result = await backend.destroy(spec.id);
      assert.equal(result.status, 'completed');
      const exit = await handle.wait();
      assert.equal(exit.reason, 'sandbox_destroyed');
      await assert.rejects(backend.exec(spec.id, { shell: 'true' }), { code: 'sandbox_not_found' });
    });

    it('pauses and resumes; exec is refused while paused', async (t) => {
      if (!requires(t, suite, 'lifecycle.pause')) return;
      await withSandbox(suite, async (id) => {
        const backend = suite.backend();
        await backend.pause(id);
        await assert.rejects(backend.pause(id), { code: 'invalid_transition' });
        await assert.rejects(backend.exec(id, { shell: 'true' }), { code: 'invalid_transition' });
        await backend.resume(id);
        await assert.rejects(backend.resume(id), { code: 'invalid_transition' });
        assert.equal((await run(suite, id, { shell: 'echo back' })).stdout, 'back\n');
      });
    });

    it('stops and starts again with files kept', async (t) => {
      if (!requires(t, suite, 'lifecycle.stop', 'files')) return;
      await withSandbox(suite, async (id) => {
        const backend = suite.backend();
        await backend.writeFile(id, '/workspace/kept.txt', Buffer.from('kept'));
        await backend.stop(id);
        await assert.rejects(backend.exec(id, { shell: 'true' }), { code: 'invalid_transition' });
        await backend.start(id);
        assert.equal((await run(suite, id, { shell: 'cat /workspace/kept.txt' })).stdout, 'kept');
      });
    });

    it('reports stats for a running sandbox', async (t) => {
      if (!requires(t, suite, 'stats')) return;
      await withSandbox(suite, async (id) => {
        const stats = await suite.backend().stats(id);
        assert.ok(stats.pids >= 1, `pids ${stats.pids}`);
        assert.ok(stats.memoryBytes >= 0);
        assert.ok(!Number.isNaN(Date.parse(stats.at)));
      });
    });

    it('lets exec in a sandbox see its own files only after they are written (no shared state between sandboxes)', async (t) => {
      if (!requires(t, suite, 'files')) return;
      await withSandbox(suite, async (a) => {
        await suite.backend().writeFile(a, '/workspace/mine.txt', Buffer.from('a'));
        await withSandbox(suite, async (b) => {
          const result = await collect(await suite.backend().exec(b, { shell: 'cat /workspace/mine.txt' }));
          assert.notEqual(result.exit.exitCode, 0);
        });
      });
    });
  });
}
