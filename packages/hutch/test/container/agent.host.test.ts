/**
 * The container tier's exec agent (src/backends/container/agent.ts) is the container's pid 1: exec
 * really goes through it (the command's parent is an agent handler, a child of pid 1), its socket
 * is host-only (mode 0600, unreachable and unlisted inside), nothing inside can read its /proc files
 * or kill it, it comes back after stop/start and is found again after a restart (adopt). Without
 * the agent (`tools.agent: ''`) pid 1 is the shell init and exec is a `crun exec`; a sandbox of
 * either kind moves to the other's init on its next start, and a running one keeps working when
 * adopted by the other.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IsolationBackend } from '../../src/port/isolation-backend.js';
import { createContainerBackend } from '../../src/backends/container/index.js';
import { containerSkipReason, run, startBaseSandbox } from './helpers.js';

const skip = await containerSkipReason();

const AGENT_ARGS = '/proc/self/fd/4 -f 3 -1';
const SHELL_INIT = '/bin/sh -c trap "exit 0" TERM; while :; do sleep 2147483647 & wait $!; done';

/** Pid 0 is a parent outside the container's pid namespace: `crun exec`. */
const LINEAGE = [
  'p=$PPID; echo "parent=$p"',
  'echo "parent_args=$(tr "\\0" " " < /proc/$p/cmdline 2>/dev/null)"',
  'gp=$(awk "{print \\$4}" /proc/$p/stat 2>/dev/null); echo "grandparent=$gp"',
  'echo "init_args=$(tr "\\0" " " < /proc/1/cmdline)"',
].join('; ');

function fields(text: string): Record<string, string> {
  return Object.fromEntries(text.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]));
}

/** Targets of the open fds of the agent's processes in the container `id`, seen from the host. */
function agentHostFds(id: string): string[] {
  const targets: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8') !== `${AGENT_ARGS.split(' ').join('\0')}\0`) continue;
      if (!readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(`/hutch/${id}`)) continue;
      for (const fd of readdirSync(`/proc/${pid}/fd`)) targets.push(readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // Gone meanwhile.
    }
  }
  return targets;
}

async function assertThroughAgent(backend: IsolationBackend, id: string): Promise<void> {
  const lineage = fields((await run(backend, id, { shell: LINEAGE })).stdout);
  assert.equal(lineage.init_args, AGENT_ARGS, 'pid 1 is the agent');
  assert.equal(lineage.parent_args, AGENT_ARGS, 'the command is the child of an agent handler');
  assert.equal(lineage.grandparent, '1', "the handler is pid 1's child");
}

async function assertThroughRuntime(backend: IsolationBackend, id: string, init: string): Promise<void> {
  const lineage = fields((await run(backend, id, { shell: LINEAGE })).stdout);
  assert.equal(lineage.init_args, init);
  assert.equal(lineage.parent, '0', 'the runtime started it (its parent is outside the pid namespace)');
}

describe('container tier: exec agent', { skip }, () => {
  let backend: IsolationBackend;
  let dataDir: string;
  let rootfsPath: string;
  let close: () => Promise<void>;
  const id = `sbx_cagent_${process.pid}`;

  before(async () => {
    ({ backend, dataDir, rootfsPath, close } = await startBaseSandbox('hutch-cagent-', id));
  });
  after(() => close());

  it('runs commands through the agent (pid 1), as root and as another user', async () => {
    await assertThroughAgent(backend, id);
    const user = await run(backend, id, { user: 'user', shell: `id -u; tr "\\0" " " < /proc/$PPID/cmdline` });
    assert.equal(user.stdout, `1000\n${AGENT_ARGS} `);
  });

  it('keeps the socket on the host: mode 0600, not listed, reachable or visible inside, no host path or environment in /proc', async () => {
    const socket = join(dataDir, 'sandboxes', id, 'agent.sock');
    assert.equal(statSync(socket).mode & 0o777, 0o600);
    const probe = await run(backend, id, {
      shell: [
        `test -e '${socket}' && echo visible`,
        'grep -c agent.sock /proc/net/unix',
        'readlink /proc/1/fd/* 2>/dev/null | tr "\\n" " "; echo',
        'readlink /proc/1/exe 2>/dev/null; echo',
        'cat /proc/1/environ 2>/dev/null; echo',
        'ls /proc/1/root/ /proc/1/cwd/ 2>/dev/null; head -c1 /proc/1/mem 2>/dev/null; echo',
        `python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' '${socket}' 2>/dev/null && echo connected`,
        'true',
      ].join('; '),
    });
    assert.equal(probe.stdout, '0\n\n\n\n\n', 'nothing of the socket, the agent binary or its environment is reachable inside');
    // On the host: the agent keeps its socket and nothing of the binary it was started from.
    const fds = agentHostFds(id);
    assert.ok(fds.length > 0);
    // The agent, its spare handler and a handler: /dev/null, sockets, pipes, a signalfd; no file.
    assert.ok(fds.every((t) => t === '/dev/null' || /^(socket|pipe|anon_inode):/.test(t)), fds.join(' '));
  });

  it('cannot be killed from inside, reaps orphans, and has the agent again after stop/start', async () => {
    const kill = await run(backend, id, { shell: 'kill -9 1; kill -TERM 1; kill -STOP 1; kill -INT 1; kill -HUP 1; echo sent' });
    assert.equal(kill.stdout, 'sent\n');
    await new Promise((r) => setTimeout(r, 100));
    await assertThroughAgent(backend, id);
    // Orphans (a background job whose shell has ended) are re-parented to pid 1, which reaps them.
    for (let i = 0; i < 5; i++) await run(backend, id, { shell: '(sleep 0.05 &) ; true' });
    await new Promise((r) => setTimeout(r, 200));
    const ps = await run(backend, id, { cmd: 'ps', args: ['-eo', 'stat=,args='] });
    assert.doesNotMatch(ps.stdout, /^Z/m, ps.stdout);
    const signaled = await backend.exec(id, { cmd: 'sleep', args: ['30'] });
    await signaled.signal('SIGTERM');
    assert.deepEqual(await signaled.wait(), { exitCode: null, signal: 'SIGTERM', reason: 'signaled' });
    await backend.stop(id);
    await backend.start(id);
    await assertThroughAgent(backend, id);
  });

  it('finds the agent again after a server restart (adopt), without zombies', async () => {
    for (let i = 0; i < 5; i++) await run(backend, id, { shell: 'sleep 0.01 & true' });
    const second = createContainerBackend({ dataDir });
    try {
      const outcome = await second.adopt(id, {});
      assert.equal(outcome.status, 'adopted');
      await assertThroughAgent(second, id);
      await new Promise((r) => setTimeout(r, 100));
      const zombies = await run(second, id, { cmd: 'ps', args: ['-eo', 'stat=,args='] });
      assert.doesNotMatch(zombies.stdout, /^Z/m, zombies.stdout);
    } finally {
      await second.close();
    }
  });

  it('without the agent: the shell init and crun exec; either kind of sandbox moves to the other init on start, and is adopted running', async () => {
    const plain = createContainerBackend({ dataDir, tools: { agent: '' } });
    const other = `${id}_plain`;
    try {
      await plain.create({ id: other, rootfsPath, resources: { memoryMib: 256, pids: 64 }, env: {}, network: { mode: 'none' } });
      await plain.start(other);
      await assertThroughRuntime(plain, other, SHELL_INIT);
      const signaled = await plain.exec(other, { cmd: 'sleep', args: ['30'] });
      await signaled.signal('SIGTERM');
      assert.deepEqual(await signaled.wait(), { exitCode: null, signal: 'SIGTERM', reason: 'signaled' });
      // A running shell-init sandbox (as an older version left it) adopted with the agent: no
      // socket, so exec falls back to the runtime.
      const agentful = createContainerBackend({ dataDir });
      try {
        assert.equal((await agentful.adopt(other, {})).status, 'adopted');
        await assertThroughRuntime(agentful, other, SHELL_INIT);
        await agentful.stop(other);
        // Its next start rewrites config.json: the agent is pid 1 now.
        await agentful.start(other);
        await assertThroughAgent(agentful, other);
      } finally {
        await agentful.close();
      }
      // And back: the agent-init sandbox adopted without the agent still answers (through the
      // runtime), and its next start gets the shell init.
      const again = createContainerBackend({ dataDir, tools: { agent: '' } });
      try {
        assert.equal((await again.adopt(other, {})).status, 'adopted');
        await assertThroughRuntime(again, other, AGENT_ARGS);
        await again.stop(other);
        await again.start(other);
        await assertThroughRuntime(again, other, SHELL_INIT);
        assert.equal((await again.destroy(other)).status, 'completed');
      } finally {
        await again.close();
      }
    } finally {
      await plain.destroy(other).catch(() => undefined);
      await plain.close();
    }
  });
});
