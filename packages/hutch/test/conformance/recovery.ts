/** Conformance: after a server restart a backend adopts survivors, reports the dead, and reclaims. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requires, run, sandboxSpec, type Suite } from './harness.js';

export function recoveryCases(suite: Suite): void {
  describe('recovery', () => {
    it('adopts a running sandbox from a new backend handle, which can then exec and destroy it', async (t) => {
      if (!requires(t, suite, 'recovery.adopt')) return;
      const spec = sandboxSpec(suite);
      await suite.backend().create(spec);
      const record = await suite.backend().start(spec.id);
      const reopened = await suite.options.reopen();
      try {
        const outcome = await reopened.adopt(spec.id, record);
        assert.equal(outcome.status, 'adopted');
        if (outcome.status === 'adopted') assert.equal(outcome.state, 'running');
        const handle = await reopened.exec(spec.id, { shell: 'echo adopted' });
        let out = '';
        for await (const chunk of handle.output()) out += Buffer.from(chunk.data).toString();
        assert.equal(out, 'adopted\n');
        assert.equal((await reopened.destroy(spec.id)).status, 'completed');
      } finally {
        await suite.backend().destroy(spec.id).catch(() => undefined);
        await reopened.close();
      }
    });

    it('reports an unknown sandbox as gone', async () => {
      const outcome = await suite.backend().adopt('sbx_conf_never_existed', {});
      assert.equal(outcome.status, 'gone');
    });

    it('reclaims a sandbox from its id alone, leaving nothing to adopt', async (t) => {
      if (!requires(t, suite, 'recovery.reclaim')) return;
      const b = suite.backend();
      const spec = sandboxSpec(suite);
      await b.create(spec);
      const record = await b.start(spec.id);
      assert.equal((await run(suite, spec.id, { shell: 'echo alive' })).stdout, 'alive\n');
      const result = await b.reclaim(spec.id, {});
      assert.equal(result.status, 'completed');
      assert.equal((await b.adopt(spec.id, record)).status, 'gone');
      await assert.rejects(b.exec(spec.id, { shell: 'true' }), { code: 'sandbox_not_found' });
    });
  });
}
