/**
 * Escape attempts against the container tier on a real host: host root not writable, host
 * processes invisible, host loopback unreachable with network none, seccomp, a fork bomb under the
 * pids limit, OOM, and the files API's confinement against `..` and symlinks.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { IsolationBackend } from '../../src/port/isolation-backend.js';
import { baseRootfs, containerSkipReason, run, tempBackend } from './helpers.js';

const skip = await containerSkipReason();

describe('container tier: escape attempts', { skip }, () => {
  let backend: IsolationBackend;
  let cleanup: () => void;
  let rootfsPath: string;
  const id = `sbx_cescape_${process.pid}`;

  before(async () => {
    let dataDir: string;
    ({ backend, cleanup, dataDir } = tempBackend('hutch-cescape-'));
    rootfsPath = await baseRootfs(dataDir);
    await backend.create({ id, rootfsPath, resources: { memoryMib: 64, pids: 64, vcpus: 1 }, env: {}, network: { mode: 'none' } });
    await backend.start(id);
  });
  after(async () => {
    await backend.destroy(id).catch(() => undefined);
    await backend.close();
    cleanup();
  });

  it('cannot write to the host root: writes land in its own layer, as an unprivileged host uid', async () => {
    const r = await run(backend, id, { shell: 'touch /hutch-escape && echo wrote; stat -c %u /hutch-escape; cat /proc/self/uid_map; ls /' });
    assert.match(r.stdout, /^wrote\n0\n\s+0\s+100000\s+65536\n/);
    assert.ok(!existsSync('/hutch-escape'));
    for (const hidden of ['work', 'mnt/sandboxing']) assert.ok(!r.stdout.split('\n').includes(hidden), `/${hidden} is not visible`);
    const etc = await run(backend, id, { shell: 'cat /etc/hostname; touch /etc/hostname 2>&1; echo rc=$?; echo 1 > /proc/sys/kernel/panic 2>&1; echo sysrc=$?; cat /proc/kcore /proc/keys /proc/timer_list 2>/dev/null | wc -c' });
    assert.match(etc.stdout, /rc=1/);
    assert.match(etc.stdout, /sysrc=1/);
    assert.match(etc.stdout, /\n0\n$/);
  });

  it('sees only its own processes', async () => {
    const r = await run(backend, id, { shell: 'ls /proc | grep -E "^[0-9]+$"' });
    const pids = r.stdout.trim().split('\n').map(Number);
    assert.ok(pids.length < 10, `sandbox sees ${pids.length} pids`);
    assert.ok(pids.includes(1));
  });

  it('runs under seccomp and cannot mount, unshare, setns or use keyrings', async () => {
    const r = await run(backend, id, { shell: 'grep -E "^Seccomp:" /proc/self/status; unshare -U true 2>/dev/null; echo unshare=$?; unshare -n true 2>/dev/null; echo unsharen=$?; mount -t tmpfs t /mnt 2>/dev/null; echo mount=$?; nsenter -t 1 -n true 2>/dev/null; echo setns=$?' });
    assert.match(r.stdout, /Seccomp:\s+2/);
    for (const name of ['unshare', 'unsharen', 'mount', 'setns']) assert.doesNotMatch(r.stdout, new RegExp(`${name}=0`));
    const py = await run(backend, id, { cmd: 'python3', args: ['-c', 'import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\nprint(libc.syscall(250, 0, 0, 0, 0, 0), ctypes.get_errno())'] });
    assert.equal(py.stdout, '-1 1\n', 'keyctl is refused with EPERM');
  });

  it('cannot reach a service on the host loopback with network none', async () => {
    const server: Server = createServer((s) => s.end('host-secret\n'));
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const script = `import socket\nfor host in ("127.0.0.1", "10.0.2.2"):\n  try:\n    s = socket.create_connection((host, ${port}), timeout=2)\n    print("connected", s.recv(100))\n  except OSError as e:\n    print("refused", e.errno)`;
      const r = await run(backend, id, { cmd: 'python3', args: ['-c', script] });
      assert.match(r.stdout, /^refused \d+\nrefused \d+\n$/);
      const links = await run(backend, id, { shell: 'cat /proc/net/dev' });
      assert.deepEqual(links.stdout.split('\n').slice(2).filter(Boolean).map((l) => l.trim().split(':')[0]), ['lo']);
    } finally {
      server.close();
    }
  });

  it('contains a fork bomb under the pids limit and still destroys cleanly', async () => {
    const bombId = `${id}_bomb`;
    await backend.create({ id: bombId, rootfsPath, resources: { pids: 32, memoryMib: 256 }, env: {}, network: { mode: 'none' } });
    await backend.start(bombId);
    const bomb = await backend.exec(bombId, { shell: 'bomb() { bomb | bomb & }; bomb; sleep 5', timeoutMs: 3000 });
    assert.equal((await run(backend, id, { shell: 'echo other sandboxes still work' })).stdout, 'other sandboxes still work\n');
    const stats = await backend.stats(bombId);
    assert.ok(stats.pids <= 32, `pids ${stats.pids}`);
    assert.equal((await backend.destroy(bombId)).status, 'completed');
    const exit = await bomb.wait();
    assert.ok(['sandbox_destroyed', 'timeout', 'exited'].includes(exit.reason), exit.reason);
  });

  it('ends a 1 GiB allocation under a 64 MiB limit with reason oom', async () => {
    const r = await run(backend, id, { cmd: 'python3', args: ['-c', 'b = bytearray(1 << 30); print("allocated", len(b))'] });
    assert.equal(r.exit.reason, 'oom');
    assert.doesNotMatch(r.stdout, /allocated/);
    assert.equal((await run(backend, id, { shell: 'echo still alive' })).stdout, 'still alive\n');
  });

  it('refuses .. and symlink escapes in the files API without touching host files', async () => {
    const hostPasswd = readFileSync('/etc/passwd', 'utf8');
    await assert.rejects(backend.readFile(id, '/workspace/../../../etc/passwd'), { code: 'path_escape' });
    await run(backend, id, { shell: 'ln -s / /workspace/rootlink && ln -s ../../../../../../etc/passwd /workspace/rel && ln -s /proc/1/root /workspace/proclink' });
    const viaRoot = (await collect(await backend.readFile(id, '/workspace/rootlink/etc/passwd'))).toString();
    assert.notEqual(viaRoot, hostPasswd);
    assert.match(viaRoot, /^root:x:0:0:/m);
    assert.match(viaRoot, /^user:x:1000:/m);
    assert.equal((await collect(await backend.readFile(id, '/workspace/rel'))).toString(), viaRoot);
    await assert.rejects(backend.readFile(id, '/workspace/proclink/etc/hostname'), { code: 'file_not_found' });
    const refused = (err: { code?: string }) => ['bad_request', 'file_not_found', 'path_escape'].includes(err.code ?? '');
    await assert.rejects(backend.writeFile(id, '/workspace/rootlink/etc/hosts', Buffer.from('x')), refused);
    // Through a link to the sandbox root, a write lands in the sandbox's own layer, never the host's.
    await backend.writeFile(id, '/workspace/rootlink/usr/hutch-through-link', Buffer.from('ok'));
    assert.equal((await run(backend, id, { shell: 'cat /usr/hutch-through-link' })).stdout, 'ok');
    assert.ok(!existsSync('/usr/hutch-through-link'));
  });
});

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}
