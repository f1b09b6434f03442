/**
 * The container tier's exec agent (src/backends/container/agent.ts): exec really goes through it
 * (the command's parent is an agent handler, a child of the agent), its socket is host-only (mode
 * 0600, unreachable and unlisted inside), it comes back after stop/start and is found again after a
 * restart (adopt), and killing it from inside only sends exec back to `crun exec`.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IsolationBackend } from '../../src/port/isolation-backend.js';
import { createContainerBackend } from '../../src/backends/container/index.js';
import { baseRootfs, containerSkipReason, run, tempBackend } from './helpers.js';

const skip = await containerSkipReason();

const AGENT_ARGS = '/proc/self/fd/4 -f 3';

/** Pid 0 is a parent outside the container's pid namespace: `crun exec`. */
const LINEAGE = [
  'p=$PPID; echo "parent=$p"',
  'echo "parent_args=$(tr "\\0" " " < /proc/$p/cmdline 2>/dev/null)"',
  'gp=$(awk "{print \\$4}" /proc/$p/stat 2>/dev/null); echo "grandparent=$gp"',
  'echo "grandparent_args=$(tr "\\0" " " < /proc/$gp/cmdline 2>/dev/null)"',
].join('; ');

function fields(text: string): Record<string, string> {
  return Object.fromEntries(text.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]));
}

/** Pids of the agent daemon inside the container (parent 1, the agent's command line). */
async function agentPids(backend: IsolationBackend, id: string): Promise<number[]> {
  const ps = await run(backend, id, { cmd: 'ps', args: ['-eo', 'pid=,ppid=,args='] });
  return ps.stdout.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f[1] === '1' && f.slice(2).join(' ') === AGENT_ARGS).map((f) => Number(f[0]));
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
  const agents = await agentPids(backend, id);
  assert.equal(agents.length, 1, 'one agent runs in the container');
  const lineage = fields((await run(backend, id, { shell: LINEAGE })).stdout);
  assert.equal(lineage.parent_args, AGENT_ARGS, 'the command is the child of an agent handler');
  assert.equal(Number(lineage.grandparent), agents[0], "the handler is the agent's child");
}

describe('container tier: exec agent', { skip }, () => {
  let backend: IsolationBackend;
  let cleanup: () => void;
  let dataDir: string;
  const id = `sbx_cagent_${process.pid}`;

  before(async () => {
    ({ backend, cleanup, dataDir } = tempBackend('hutch-cagent-'));
    const rootfsPath = await baseRootfs(dataDir);
    await backend.create({ id, rootfsPath, resources: { memoryMib: 512, pids: 128 }, env: {}, network: { mode: 'none' } });
    await backend.start(id);
  });
  after(async () => {
    await backend.destroy(id).catch(() => undefined);
    await backend.close();
    cleanup();
  });

  it('runs commands through the agent, as root and as another user', async () => {
    await assertThroughAgent(backend, id);
    const user = await run(backend, id, { user: 'user', shell: `id -u; tr "\\0" " " < /proc/$PPID/cmdline` });
    assert.equal(user.stdout, `1000\n${AGENT_ARGS} `);
  });

  it('keeps the socket on the host: mode 0600, not listed, reachable or visible inside, no host path in /proc', async () => {
    const socket = join(dataDir, 'sandboxes', id, 'agent.sock');
    assert.equal(statSync(socket).mode & 0o777, 0o600);
    const [agent] = await agentPids(backend, id);
    const probe = await run(backend, id, {
      shell: [
        `test -e '${socket}' && echo visible`,
        'grep -c agent.sock /proc/net/unix',
        `readlink /proc/${agent}/fd/* 2>/dev/null | tr "\\n" " "; echo`,
        `readlink /proc/${agent}/exe 2>/dev/null; echo`,
        `python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' '${socket}' 2>/dev/null && echo connected`,
        'true',
      ].join('; '),
    });
    assert.equal(probe.stdout, '0\n\n\n', 'nothing of the socket or the agent binary is reachable inside');
    // On the host: the agent keeps its socket and nothing of the binary it was started from.
    const fds = agentHostFds(id);
    assert.ok(fds.length > 0);
    // The agent, its spare handler and a handler: /dev/null, sockets, pipes, a signalfd; no file.
    assert.ok(fds.every((t) => t === '/dev/null' || /^(socket|pipe|anon_inode):/.test(t)), fds.join(' '));
  });

  it('falls back to crun exec when the agent is killed from inside, and has one again after stop/start', async () => {
    const [agent] = await agentPids(backend, id);
    const kill = await run(backend, id, { shell: `kill -9 ${agent}` });
    assert.equal(kill.exit.exitCode, 0);
    // Its spare handler dies with it; the handler that ran `kill` ends with its command.
    for (let i = 0; i < 50 && (await agentPids(backend, id)).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await agentPids(backend, id), []);
    const echo = await run(backend, id, { shell: 'echo still; echo "parent=$PPID"' });
    assert.equal(echo.stdout, 'still\nparent=0\n', 'the runtime started it (its parent is outside the pid namespace)');
    const signaled = await backend.exec(id, { cmd: 'sleep', args: ['30'] });
    await signaled.signal('SIGTERM');
    assert.deepEqual(await signaled.wait(), { exitCode: null, signal: 'SIGTERM', reason: 'signaled' });
    await backend.stop(id);
    await backend.start(id);
    await assertThroughAgent(backend, id);
  });

  it('finds the agent again after a server restart (adopt), without zombies', async () => {
    const [before] = await agentPids(backend, id);
    for (let i = 0; i < 5; i++) await run(backend, id, { shell: 'sleep 0.01 & true' });
    const second = createContainerBackend({ dataDir });
    try {
      const outcome = await second.adopt(id, {});
      assert.equal(outcome.status, 'adopted');
      await assertThroughAgent(second, id);
      assert.deepEqual(await agentPids(second, id), [before]);
      await new Promise((r) => setTimeout(r, 100));
      const zombies = await run(second, id, { cmd: 'ps', args: ['-eo', 'stat=,args='] });
      assert.doesNotMatch(zombies.stdout, /^Z/m, zombies.stdout);
    } finally {
      await second.close();
    }
  });
});
