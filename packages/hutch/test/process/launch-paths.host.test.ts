/**
 * The process tier's two launch paths, side by side: hutch-launch (the default, built with gcc)
 * and the Perl prelude + nsenter fallback (`tools.launcher: ''`). Both must give the same
 * sandbox: exit codes of the former `sh` wrapper, the seccomp filter without no_new_privs, the
 * user mapping, signals, and nothing left after destroy. The default path also keeps stray fds
 * of the server out of the sandbox and enters the sandbox's cgroup namespace.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createProcessBackend } from '../../src/backends/process/index.js';
import { DEFAULT_TOOLS, probeHost } from '../../src/backends/process/capabilities.js';
import { cgroupPids, detectCgroupLayout } from '../../src/host/cgroups.js';
import { hostSkipReason, run } from './helpers.js';

const skip = await hostSkipReason();

for (const path of ['hutch-launch', 'perl prelude + nsenter'] as const) {
  describe(`process tier launch path: ${path}`, { skip }, () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hutch-launch-'));
    const backend = createProcessBackend({ dataDir, tools: path === 'hutch-launch' ? {} : { launcher: '' } });
    const id = `sbx_lp_${process.pid}_${path === 'hutch-launch' ? 'c' : 'perl'}`;
    after(async () => {
      await backend.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('is the path in use', async () => {
      const probe = await probeHost(path === 'hutch-launch' ? DEFAULT_TOOLS : { ...DEFAULT_TOOLS, launcher: '' });
      if (path === 'hutch-launch' && existsSync('/usr/bin/gcc')) assert.ok(probe.launcher, 'the launcher builds on a host with gcc');
      if (path !== 'hutch-launch') assert.equal(probe.launcher, undefined);
    });

    it('runs commands with the same results', async () => {
      await backend.create({ id, resources: { memoryMib: 128, pids: 64 }, env: { FROM_SANDBOX: 'yes' }, network: { mode: 'none' } });
      await backend.start(id);
      const ok = await run(backend, id, { shell: 'echo "$FROM_SANDBOX $PWD"; id -u; id -G; grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status', cwd: '/tmp', user: '1000' });
      assert.deepEqual(ok.exit, { exitCode: 0, signal: null, reason: 'exited' });
      assert.equal(ok.stdout, 'yes /tmp\n1000\n1000\nNoNewPrivs:\t0\nSeccomp:\t2\n');
      assert.equal((await run(backend, id, { cmd: 'no-such-command' })).exit.exitCode, 127);
      assert.equal((await run(backend, id, { cmd: 'true', cwd: '/no/such/dir' })).exit.exitCode, 126);
      assert.equal((await run(backend, id, { cmd: '/etc/passwd' })).exit.exitCode, 126);
      assert.deepEqual((await run(backend, id, { shell: 'kill -KILL $$' })).exit, { exitCode: null, signal: 'SIGKILL', reason: 'signaled' });
      assert.equal((await run(backend, id, { cmd: 'sh', args: ['-c', 'exit 3'] })).exit.exitCode, 3);
      // The caller's environment reaches the command, never the host-root launcher (Perl, nsenter).
      const hostile = { PERL5OPT: '-Mhutch_no_such_module', GLIBC_TUNABLES: 'glibc.malloc.check=0', GIVEN: 'kept' };
      const envRun = await run(backend, id, { shell: 'echo "$PERL5OPT|$GLIBC_TUNABLES|$GIVEN|${HUTCH_SANDBOX_GLIBC_TUNABLES-unset}"', env: hostile });
      assert.deepEqual(envRun.exit, { exitCode: 0, signal: null, reason: 'exited' }, envRun.stderr);
      assert.equal(envRun.stdout, '-Mhutch_no_such_module|glibc.malloc.check=0|kept|unset\n');
      assert.doesNotMatch(envRun.stderr, /hutch_no_such_module/);
      const root = await run(backend, id, { cmd: 'cat', args: ['/proc/self/uid_map'] });
      assert.equal(root.stdout.trim().split(/\s+/).join(' '), '0 100000 65536');
      if (path === 'hutch-launch') {
        const fds = await run(backend, id, { cmd: 'ls', args: ['/proc/self/fd'] });
        assert.deepEqual(fds.stdout.trim().split('\n').map(Number).sort(), [0, 1, 2, 3], 'stdio and ls\'s own directory fd only');
        const cg = await run(backend, id, { shell: 'grep -E ":(pids|memory):" /proc/self/cgroup | cut -d: -f3 | sort -u' });
        assert.equal(cg.stdout, '/\n', 'inside its own cgroup namespace');
      }
    });

    it('leaves no process in the cgroup after destroy', async () => {
      const bg = await backend.exec(id, { shell: 'sleep 60 & sleep 60' });
      assert.ok(bg.pid > 0);
      const result = await backend.destroy(id);
      assert.equal(result.status, 'completed', result.summary);
      const layout = await detectCgroupLayout();
      assert.deepEqual(await cgroupPids(layout, id), []);
    });
  });
}
