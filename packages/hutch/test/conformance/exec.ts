/** Conformance: exec semantics — results, argv vs shell, env, cwd, ordering, stdin, timeout, signals, reattach. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collect, eventually, requires, run, withSandbox, type Suite } from './harness.js';

export function execCases(suite: Suite): void {
  describe('exec', () => {
    it('returns a non-zero exit as a result, with stdout and stderr apart', async () => {
      await withSandbox(suite, async (id) => {
        const result = await run(suite, id, { shell: 'echo out; echo err >&2; exit 3' });
        assert.equal(result.stdout, 'out\n');
        assert.equal(result.stderr, 'err\n');
        assert.deepEqual(result.exit, { exitCode: 3, signal: null, reason: 'exited' });
      });
    });

    it('runs argv without a shell, keeping spaces inside an argument', async () => {
      await withSandbox(suite, async (id) => {
        const result = await run(suite, id, { cmd: 'echo', args: ['a  b', 'c'] });
        assert.equal(result.stdout, 'a  b c\n');
        assert.equal(result.exit.exitCode, 0);
      });
    });

    it('passes env and cwd', async () => {
      await withSandbox(suite, async (id) => {
        assert.equal((await run(suite, id, { shell: 'printenv HUTCH_CONF', env: { HUTCH_CONF: 'v1' } })).stdout, 'v1\n');
        assert.equal((await run(suite, id, { shell: 'pwd', cwd: '/tmp' })).stdout, '/tmp\n');
      });
    });

    it('streams output in order with gapless sequence numbers', async () => {
      await withSandbox(suite, async (id) => {
        const result = await run(suite, id, { shell: 'echo 1; sleep 0.05; echo 2; sleep 0.05; echo 3' });
        assert.equal(result.stdout, '1\n2\n3\n');
        assert.deepEqual(result.seqs, result.seqs.map((_, i) => i + 1));
      });
    });

    it('feeds stdin given at start and written later, then sees it closed', async (t) => {
      if (!requires(t, suite, 'exec.stdin')) return;
      await withSandbox(suite, async (id) => {
        const handle = await suite.backend().exec(id, { shell: 'cat', stdin: Buffer.from('one '), keepStdinOpen: true });
        await handle.writeStdin(Buffer.from('two'));
        await handle.closeStdin();
        const result = await collect(handle);
        assert.equal(result.stdout, 'one two');
        assert.equal(result.exit.exitCode, 0);
        await assert.rejects(handle.writeStdin(Buffer.from('late')), { code: 'invalid_transition' });
      });
    });

    it('ends a process that outlives its timeout with reason timeout', async (t) => {
      if (!requires(t, suite, 'exec.timeout')) return;
      await withSandbox(suite, async (id) => {
        const result = await run(suite, id, { shell: 'sleep 20', timeoutMs: 300 });
        assert.equal(result.exit.reason, 'timeout');
      });
    });

    it('delivers signals; the process ends as signaled', async (t) => {
      if (!requires(t, suite, 'exec.signal')) return;
      await withSandbox(suite, async (id) => {
        const handle = await suite.backend().exec(id, { shell: 'sleep 20' });
        await handle.signal('SIGTERM');
        const exit = await handle.wait();
        assert.equal(exit.reason, 'signaled');
        assert.equal(exit.signal, 'SIGTERM');
      });
    });

    it('lists background processes and reattaches to one by pid, replaying its output', async (t) => {
      if (!requires(t, suite, 'exec.background')) return;
      await withSandbox(suite, async (id) => {
        const backend = suite.backend();
        const handle = await backend.exec(id, { shell: 'echo started; sleep 0.3; echo done', tag: 'bg' });
        assert.ok(handle.pid > 0);
        const listed = await backend.listProcesses(id);
        const mine = listed.find((p) => p.pid === handle.pid);
        assert.ok(mine, 'the process is listed');
        assert.equal(mine.tag, 'bg');
        const again = await backend.getProcess(id, handle.pid);
        const result = await collect(again);
        assert.equal(result.stdout, 'started\ndone\n');
        await assert.rejects(backend.getProcess(id, 999_999), { code: 'process_not_found' });
        await eventually(() => backend.listProcesses(id), (ps) => ps.some((p) => p.pid === handle.pid && !p.running));
      });
    });

    it('gives each process its own pid', async () => {
      await withSandbox(suite, async (id) => {
        const a = await suite.backend().exec(id, { shell: 'true' });
        const b = await suite.backend().exec(id, { shell: 'true' });
        assert.notEqual(a.pid, b.pid);
        await Promise.all([a.wait(), b.wait()]);
      });
    });

    it('reports a missing command as exit 127, not an error', async () => {
      await withSandbox(suite, async (id) => {
        const result = await run(suite, id, { shell: 'hutch-no-such-command' });
        assert.equal(result.exit.exitCode, 127);
      });
    });
  });
}
