/** The `base` template on the container tier: python3, sudo and git as user `user`, fork from a snapshot, integrity. */
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { IsolationBackend } from '../../src/port/isolation-backend.js';
import { containerSkipReason, run, startBaseSandbox } from './helpers.js';

const skip = await containerSkipReason();

describe('container tier: base template', { skip }, () => {
  let backend: IsolationBackend;
  let close: () => Promise<void>;
  let rootfsPath: string;
  const id = `sbx_cbase_${process.pid}`;
  const as = { user: 'user', cwd: '/home/user' };

  before(async () => {
    ({ backend, rootfsPath, close } = await startBaseSandbox('hutch-cbase-', id));
  });
  after(() => close());

  it('runs python3, sudo and git as user "user" in /home/user', async () => {
    assert.equal((await run(backend, id, { ...as, shell: "python3 -c 'print(1+1)'" })).stdout, '2\n');
    const sudo = await run(backend, id, { ...as, shell: 'sudo whoami' });
    assert.equal(sudo.stdout, 'root\n', sudo.stderr);
    assert.match((await run(backend, id, { ...as, shell: 'git --version' })).stdout, /^git version /);
    assert.equal((await run(backend, id, { ...as, shell: 'whoami; pwd' })).stdout, 'user\n/home/user\n');
  });

  it('forks from a snapshot: children see the parent files and not each other; a corrupted artifact is refused', async () => {
    await run(backend, id, { ...as, shell: 'echo parent > /home/user/state.txt && sudo rm /etc/issue' });
    const artifact = await backend.snapshot(id, { snapshotId: `snap_${id}`, kind: 'continuation' });
    const children = [`${id}_c0`, `${id}_c1`];
    try {
      for (const child of children) {
        await backend.restore(artifact, { id: child, rootfsPath, resources: {}, env: {}, network: { mode: 'none' } });
        await backend.start(child);
        assert.equal((await run(backend, child, { ...as, shell: 'cat /home/user/state.txt; test -e /etc/issue; echo issue=$?' })).stdout, 'parent\nissue=1\n');
        await run(backend, child, { ...as, shell: `echo ${child} > /home/user/state.txt` });
      }
      for (const child of children) assert.equal((await run(backend, child, { shell: 'cat /home/user/state.txt' })).stdout, `${child}\n`);
      assert.equal((await run(backend, id, { shell: 'cat /home/user/state.txt' })).stdout, 'parent\n');
      appendFileSync(artifact.location, 'corrupted');
      await assert.rejects(backend.restore(artifact, { id: `${id}_bad`, rootfsPath, resources: {}, env: {}, network: { mode: 'none' } }), (err: { code?: string; message?: string }) => err.code === 'bad_request' && /does not match its recorded size and sha256/.test(err.message ?? ''));
    } finally {
      for (const child of children) await backend.destroy(child).catch(() => undefined);
      await backend.deleteSnapshot(artifact);
    }
  });
});
