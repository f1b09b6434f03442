/**
 * Templates on the process tier, through the engine: the `base` template (Debian + python3, sudo,
 * git, user `user`), copy-on-write roots, snapshot → fork, integrity checks, start/ready commands.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createProcessBackend } from '../../src/backends/process/index.js';
import { Engine } from '../../src/engine/engine.js';
import { BackendRegistry } from '../../src/port/registry.js';
import { TemplateStore } from '../../src/templates/store.js';
import { hostSkipReason } from './helpers.js';

const skip = (await hostSkipReason()) ?? (existsSync('/usr/sbin/debootstrap') ? undefined : 'debootstrap is not installed (needed for the base template)');

describe('templates on the process tier (host)', { skip }, () => {
  let dataDir: string;
  let engine: Engine;
  let templates: TemplateStore;
  before(async () => {
    dataDir = mkdtempSync('/var/tmp/hutch-tpl-proc-');
    chmodSync(dataDir, 0o711);
    templates = new TemplateStore({ dataDir });
    engine = await Engine.open({ dataDir, registry: new BackendRegistry().register(createProcessBackend({ dataDir: join(dataDir, 'process') })), templates });
  });
  after(async () => {
    for (const s of engine.list({ state: ['running', 'paused', 'stopped'], limit: 1000 }).items) await engine.lifecycle.destroy(s.id);
    await engine.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const sh = async (id: string, shell: string) => engine.processes.run(id, { shell });

  it('runs python3, sudo and git as user "user" in /home/user from base', async () => {
    const sbx = await engine.lifecycle.create({ template: 'base' });
    assert.equal((await sh(sbx.id, "python3 -c 'print(1+1)'")).stdout, '2\n');
    assert.equal((await sh(sbx.id, 'python --version')).exitCode, 0);
    assert.equal((await sh(sbx.id, 'sudo whoami')).stdout, 'root\n');
    assert.match((await sh(sbx.id, 'git --version')).stdout, /^git version /);
    assert.equal((await sh(sbx.id, 'whoami; pwd')).stdout, 'user\n/home/user\n');
    assert.equal((await sh(sbx.id, 'tput -T xterm cols')).exitCode, 0);
    await engine.lifecycle.destroy(sbx.id);
  });

  it('writes land in the sandbox only: the template and other sandboxes never see them', async () => {
    const a = await engine.lifecycle.create({ template: 'base' });
    const b = await engine.lifecycle.create({ template: 'base' });
    assert.equal((await sh(a.id, 'echo mine > /home/user/a.txt && sudo sh -c "echo sys > /etc/hutch-test"')).exitCode, 0);
    assert.equal((await sh(b.id, 'cat /home/user/a.txt /etc/hutch-test')).exitCode, 1);
    const base = await templates.resolve('base');
    assert.equal(existsSync(join(base.rootfsPath, 'etc/hutch-test')), false, 'the template is untouched');
    await engine.lifecycle.destroy(a.id);
    await engine.lifecycle.destroy(b.id);
  });

  it('forks 5 sandboxes from a snapshot: each sees the parent files, none sees the others', async () => {
    const parent = await engine.lifecycle.create({ template: 'base' });
    await sh(parent.id, 'echo parent > /home/user/state.txt && mkdir -p /workspace/w && echo ws > /workspace/w/f');
    const snap = await engine.snapshots.create(parent.id);
    const children = await engine.snapshots.fork(snap.id, 5);
    assert.equal(children.length, 5);
    for (const [i, child] of children.entries()) {
      assert.equal(child.template, 'base');
      assert.equal((await sh(child.id, 'cat /home/user/state.txt /workspace/w/f')).stdout, 'parent\nws\n');
      await sh(child.id, `echo child${i} > /home/user/state.txt`);
    }
    for (const [i, child] of children.entries()) assert.equal((await sh(child.id, 'cat /home/user/state.txt')).stdout, `child${i}\n`);
    assert.equal((await sh(parent.id, 'cat /home/user/state.txt')).stdout, 'parent\n');
    for (const child of children) await engine.lifecycle.destroy(child.id);

    const parts: Buffer[] = [];
    for await (const chunk of await engine.snapshots.export(snap.id)) parts.push(Buffer.from(chunk));
    const imported = await engine.snapshots.import((async function* () {
      yield Buffer.concat(parts);
    })());
    const fromFile = await engine.snapshots.restore(imported.id);
    assert.equal((await sh(fromFile.id, 'cat /home/user/state.txt')).stdout, 'parent\n', 'an exported and re-imported snapshot restores');
    await engine.lifecycle.destroy(fromFile.id);
    await engine.snapshots.delete(imported.id);

    const file = join(dataDir, 'process', 'snapshots', `${snap.id}.tar`);
    writeFileSync(file, 'corrupted', { flag: 'a' });
    await assert.rejects(engine.snapshots.restore(snap.id), (err: { code?: string; message?: string }) => err.code === 'bad_request' && /does not match its recorded size and sha256/.test(err.message ?? ''));
    await engine.snapshots.delete(snap.id);
    await engine.lifecycle.destroy(parent.id);
  });

  it('starts the template start command and waits for its ready command', async () => {
    await templates.build({ name: 'web', from: { template: 'base' }, steps: [{ copy: { dest: '/home/user/www/index.html', content: 'hello' } }], start: 'cd /home/user/www && python3 -m http.server 8000', ready: 'curl -sf http://127.0.0.1:8000/' }, () => undefined);
    const sbx = await engine.lifecycle.create({ template: 'web' });
    assert.equal((await sh(sbx.id, 'curl -s http://127.0.0.1:8000/index.html')).stdout, 'hello');
    assert.ok((await engine.processes.list(sbx.id)).some((p) => p.tag === 'template-start' && p.running));
    await engine.lifecycle.destroy(sbx.id);
  });

  it('fails a create whose ready command never succeeds, and leaves nothing behind', async () => {
    await templates.build({ name: 'never-ready', from: { template: 'base' }, ready: 'false', readyTimeoutMs: 500 }, () => undefined);
    await assert.rejects(engine.lifecycle.create({ template: 'never-ready' }), { code: 'template_not_ready' });
    const failed = engine.list({ state: 'failed' }).items.at(-1)!;
    assert.equal(failed.failureReason, 'create failed: template_not_ready');
    assert.ok(!readdirSync(join(dataDir, 'process', 'sandboxes')).includes(failed.id));
  });
});
