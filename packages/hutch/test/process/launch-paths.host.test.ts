/**
 * The process tier's three exec paths, side by side: the in-sandbox exec agent (the default, built
 * with gcc), hutch-launch per command (`tools.agent: ''`, and the agent's fallback) and the Perl
 * prelude + nsenter (`tools.launcher: ''`). All must give the same sandbox: exit codes of the
 * former `sh` wrapper, the seccomp filter without no_new_privs, the user mapping, signals, and
 * nothing left after destroy. The native paths also keep stray fds of the server out of the
 * sandbox and enter the sandbox's cgroup namespace. The agent's own cases: it is what runs the
 * commands, its socket is nowhere inside, and exec survives its death (the launcher takes over).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createProcessBackend } from '../../src/backends/process/index.js';
import { DEFAULT_TOOLS, probeHost } from '../../src/backends/process/capabilities.js';
import { cgroupPids, detectCgroupLayout } from '../../src/host/cgroups.js';
import type { ProcessHandle } from '../../src/port/isolation-backend.js';
import { hostSkipReason, run } from './helpers.js';

async function collect(proc: ProcessHandle): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of proc.output()) chunks.push(Buffer.from(chunk.data));
  return chunks;
}

const skip = await hostSkipReason();

const PATHS = {
  'exec agent': { tools: {}, tag: 'a' },
  'hutch-launch': { tools: { agent: '' }, tag: 'c' },
  'perl prelude + nsenter': { tools: { launcher: '' }, tag: 'perl' },
} as const;

for (const [path, { tools, tag }] of Object.entries(PATHS)) {
  const native = path !== 'perl prelude + nsenter';
  describe(`process tier launch path: ${path}`, { skip }, () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hutch-launch-'));
    const backend = createProcessBackend({ dataDir, tools });
    const id = `sbx_lp_${process.pid}_${tag}`;
    after(async () => {
      await backend.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('is the path in use', async () => {
      const probe = await probeHost({ ...DEFAULT_TOOLS, ...tools });
      if (native && existsSync('/usr/bin/gcc')) assert.ok(probe.launcher, 'the launcher builds on a host with gcc');
      if (!native) assert.equal(probe.launcher, undefined);
      if (path === 'exec agent' && existsSync('/usr/bin/gcc')) assert.ok(probe.agent, 'the agent builds on a host with gcc');
      if (path !== 'exec agent') assert.equal(probe.agent, undefined);
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
      if (native) {
        const fds = await run(backend, id, { cmd: 'ls', args: ['/proc/self/fd'] });
        assert.deepEqual(fds.stdout.trim().split('\n').map(Number).sort(), [0, 1, 2, 3], 'stdio and ls\'s own directory fd only');
        const cg = await run(backend, id, { shell: 'grep -E ":(pids|memory):" /proc/self/cgroup | cut -d: -f3 | sort -u' });
        assert.equal(cg.stdout, '/\n', 'inside its own cgroup namespace');
      }
      // Who started the command: the agent's handler (its parent is the agent), or no agent at all.
      const parent = await run(backend, id, { shell: 'cat /proc/$PPID/comm 2>/dev/null || echo outside; ps -eo comm= | grep -c "^hutch-agent$"; ls -a / /run /tmp 2>/dev/null | grep -c "agent.sock"' });
      const [parentComm, agents, sockets] = parent.stdout.trim().split('\n');
      assert.equal(sockets, '0', 'the agent socket is nowhere inside the sandbox');
      if (path === 'exec agent') {
        assert.equal(parentComm, 'hutch-agent', 'the command was forked by the agent');
        assert.ok(Number(agents) >= 2, 'the agent and the handler of this command');
      } else {
        assert.notEqual(parentComm, 'hutch-agent');
        assert.equal(agents, '0');
      }
    });

    if (path === 'exec agent') {
      it('keeps exec working after the agent is killed from inside, through the launcher', async () => {
        const pty = await backend.exec(id, { cmd: 'sh', args: ['-c', 'tty; read x; echo got $x'], pty: { cols: 80, rows: 24 }, keepStdinOpen: true });
        await pty.writeStdin(new TextEncoder().encode('hello\n'));
        assert.equal((await pty.wait()).exitCode, 0);
        const ptyOut = Buffer.concat(await collect(pty)).toString();
        assert.match(ptyOut, /\/dev\/pts\/\d+/);
        assert.match(ptyOut, /got hello/);
        // The agent and its spare handler; not the handler of this very command.
        const kill = await run(backend, id, { shell: 'kill -KILL $(pgrep -x hutch-agent | grep -vx $PPID); echo done' });
        assert.equal(kill.stdout, 'done\n');
        const after = await run(backend, id, { shell: 'cat /proc/$PPID/comm 2>/dev/null || echo outside; echo ok' });
        assert.deepEqual(after.exit, { exitCode: 0, signal: null, reason: 'exited' });
        assert.notEqual(after.stdout.split('\n')[0], 'hutch-agent');
        assert.match(after.stdout, /ok\n$/);
      });
    }

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
