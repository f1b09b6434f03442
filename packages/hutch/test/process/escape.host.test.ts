/**
 * Escape attempts against the process tier on a real host: the read-only root, the pid namespace,
 * the empty network namespace, seccomp, cgroup limits (fork bomb, OOM), and the files API's
 * confinement against `..` and symlinks. Skips, naming what is missing, without bwrap & co.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { IsolationBackend } from '../../src/port/isolation-backend.js';
import { hostSkipReason, run, tempBackend } from './helpers.js';

const skip = await hostSkipReason();

describe('process tier: escape attempts', { skip }, () => {
  let backend: IsolationBackend;
  let cleanup: () => void;
  const id = `sbx_escape_${process.pid}`;

  before(async () => {
    ({ backend, cleanup } = tempBackend('hutch-escape-'));
    await backend.create({ id, resources: { memoryMib: 64, pids: 64, vcpus: 1 }, env: {}, network: { mode: 'none' } });
    await backend.start(id);
  });
  after(async () => {
    await backend.destroy(id).catch(() => undefined);
    await backend.close();
    cleanup();
  });

  it('cannot write to the root filesystem, and the host root is not what it sees', async () => {
    const r = await run(backend, id, { shell: 'touch /usr/hutch-escape 2>&1; echo rc=$?; touch /hutch-escape 2>&1; echo rc=$?; ls /' });
    assert.match(r.stdout, /rc=1[\s\S]*rc=1/);
    assert.ok(!existsSync('/usr/hutch-escape') && !existsSync('/hutch-escape'));
    for (const hidden of ['root', 'home', 'work', 'var', 'run']) assert.ok(!r.stdout.split('\n').includes(hidden), `/${hidden} is not visible`);
    const etc = await run(backend, id, { shell: 'ls /etc; cat /etc/shadow 2>&1; echo rc=$?' });
    assert.ok(!etc.stdout.split('\n').includes('shadow'));
    assert.match(etc.stdout, /rc=1/);
  });

  it('sees only sandbox processes', async () => {
    const r = await run(backend, id, { shell: 'ls /proc | grep -E "^[0-9]+$"' });
    const pids = r.stdout.trim().split('\n').map(Number);
    assert.ok(pids.length < 10, `sandbox sees ${pids.length} pids`);
    assert.ok(pids.includes(1));
    assert.ok(!pids.includes(process.pid) || process.pid < 10);
  });

  // no_new_privs is deliberately not set on commands (setuid programs of a template, like sudo,
  // may reach the sandbox's own root); the host view is mounted nosuid, so nothing setuid runs here.
  it('runs under seccomp on a nosuid root, and cannot mount, unshare or use keyrings', async () => {
    const r = await run(backend, id, { shell: 'grep -E "^Seccomp:" /proc/self/status; grep -E " / " /proc/self/mountinfo; unshare -U true 2>/dev/null; echo unshare=$?; mount -t tmpfs t /tmp 2>/dev/null; echo mount=$?' });
    assert.match(r.stdout, /Seccomp:\s+2/);
    assert.match(r.stdout, / \/ ro,nosuid/);
    for (const line of r.stdout.split('\n').filter((l) => / - /.test(l))) assert.match(line.split(' ')[5]!, /nosuid/, line);
    assert.doesNotMatch(r.stdout, /unshare=0/);
    assert.doesNotMatch(r.stdout, /mount=0/);
  });

  it('cannot reach a service on the host loopback with network none', async () => {
    const server: Server = createServer((s) => s.end('host-secret\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const script = `import socket\ntry:\n  s = socket.create_connection(("127.0.0.1", ${port}), timeout=2)\n  print("connected", s.recv(100))\nexcept OSError as e:\n  print("refused", e.errno)`;
      const r = await run(backend, id, { cmd: 'python3', args: ['-c', script] });
      assert.match(r.stdout, /^refused/);
      const links = await run(backend, id, { shell: 'cat /proc/net/dev' });
      assert.deepEqual(links.stdout.split('\n').slice(2).filter(Boolean).map((l) => l.trim().split(':')[0]), ['lo']);
    } finally {
      server.close();
    }
  });

  it('contains a fork bomb under the pids limit and still destroys cleanly', async () => {
    const bombId = `${id}_bomb`;
    await backend.create({ id: bombId, resources: { pids: 32, memoryMib: 256 }, env: {}, network: { mode: 'none' } });
    await backend.start(bombId);
    const bomb = await backend.exec(bombId, { shell: 'bomb() { bomb | bomb & }; bomb; sleep 5', timeoutMs: 3000 });
    const probe = await run(backend, id, { shell: 'echo other sandboxes still work' });
    assert.equal(probe.stdout, 'other sandboxes still work\n');
    const stats = await backend.stats(bombId);
    assert.ok(stats.pids <= 32, `pids ${stats.pids}`);
    const result = await backend.destroy(bombId);
    assert.equal(result.status, 'completed');
    const exit = await bomb.wait();
    assert.ok(['sandbox_destroyed', 'timeout', 'exited'].includes(exit.reason), exit.reason);
  });

  it('ends a 1 GiB allocation under a 64 MiB limit with reason oom', async () => {
    const r = await run(backend, id, { cmd: 'python3', args: ['-c', 'b = bytearray(1 << 30); print("allocated", len(b))'] });
    assert.equal(r.exit.reason, 'oom');
    assert.doesNotMatch(r.stdout, /allocated/);
    const again = await run(backend, id, { shell: 'head -c 1G /dev/zero | tail > /dev/null' });
    assert.equal(again.exit.reason, 'oom');
  });

  it('refuses .. and symlink escapes in the files API without touching host files', async () => {
    const hostPasswd = readFileSync('/etc/passwd', 'utf8');
    await assert.rejects(backend.readFile(id, '/workspace/../../../etc/passwd'), { code: 'path_escape' });
    await run(backend, id, { shell: 'ln -s / /workspace/rootlink && ln -s /etc /workspace/etclink && ln -s ../../../../../../etc/passwd /workspace/rel && ln -s /proc/1/root /workspace/proclink' });
    // Links resolve inside the sandbox: its own /etc/passwd, never the host's.
    const viaRoot = (await collect(await backend.readFile(id, '/workspace/rootlink/etc/passwd'))).toString();
    assert.notEqual(viaRoot, hostPasswd);
    assert.match(viaRoot, /^root:x:0:0:root:\/workspace/);
    assert.equal((await collect(await backend.readFile(id, '/workspace/rel'))).toString(), viaRoot);
    await assert.rejects(backend.readFile(id, '/workspace/etclink/shadow'), { code: 'file_not_found' });
    await assert.rejects(backend.readFile(id, '/workspace/proclink/etc/hostname'), { code: 'file_not_found' });
    const refused = (err: { code?: string }) => ['bad_request', 'file_not_found', 'path_escape'].includes(err.code ?? '');
    await assert.rejects(backend.writeFile(id, '/workspace/etclink/hutch-escape', Buffer.from('x')), refused);
    await assert.rejects(backend.writeFile(id, '/workspace/rootlink/usr/hutch-escape', Buffer.from('x')), refused);
    assert.ok(!existsSync('/etc/hutch-escape') && !existsSync('/usr/hutch-escape'));
    await assert.rejects(backend.remove(id, '/workspace/rootlink/usr/bin', { recursive: true }), refused);
    assert.ok(existsSync('/usr/bin/env'));
    // Writing through a link into the writable area lands in the sandbox, not on the host.
    await backend.writeFile(id, '/workspace/rootlink/tmp/through-link.txt', Buffer.from('ok'));
    assert.equal((await run(backend, id, { shell: 'cat /tmp/through-link.txt' })).stdout, 'ok');
    assert.ok(!existsSync('/tmp/through-link.txt'));
  });
});

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}
