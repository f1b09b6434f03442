/**
 * The template store on this host: the `base` template from Debian's archive (or the machine
 * cache), a derived template with every step kind, content-addressed reuse, and a failed build
 * that leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TemplateStore } from '../../src/templates/store.js';

const skip = !existsSync('/usr/sbin/debootstrap') ? 'debootstrap is not installed (apt-get install debootstrap)' : process.getuid?.() !== 0 ? 'template builds need root' : undefined;

describe('template store (host)', { skip }, () => {
  let dataDir: string;
  let store: TemplateStore;
  const logs: string[] = [];
  before(() => {
    dataDir = mkdtempSync('/var/tmp/hutch-templates-test-');
    chmodSync(dataDir, 0o711);
    store = new TemplateStore({ dataDir, log: (l) => logs.push(l) });
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('builds base on first use: Debian with python3, sudo, git and a sudoer user, owned by the sandbox id range', async () => {
    const base = await store.resolve('base');
    assert.equal(base.user, 'user');
    assert.equal(base.workdir, '/home/user');
    for (const tool of ['usr/bin/python3', 'usr/bin/python', 'usr/bin/sudo', 'usr/bin/git', 'usr/bin/curl', 'usr/bin/tput']) assert.ok(existsSync(join(base.rootfsPath, tool)), tool);
    const sudo = statSync(join(base.rootfsPath, 'usr/bin/sudo'));
    assert.equal(sudo.uid, 100000, 'sandbox root owns sudo');
    assert.ok((sudo.mode & 0o4000) !== 0, 'sudo keeps its setuid bit');
    assert.equal(statSync(join(base.rootfsPath, 'home/user')).uid, 101000);
    assert.match(readFileSync(join(base.rootfsPath, 'etc/sudoers.d/user'), 'utf8'), /NOPASSWD/);
  });

  it('builds a derived template with run, env, workdir, copy and start/ready metadata, and reuses it by digest', async () => {
    const hostFile = join(dataDir, 'host.txt');
    writeFileSync(hostFile, 'from the host');
    const recipe = {
      name: 'derived',
      from: { template: 'base' },
      steps: [
        { env: { GREETING: 'hi' } },
        { workdir: '/home/user/app' },
        { run: 'echo "$GREETING from $(whoami) in $(pwd)" > built.txt' },
        { copy: { dest: '/home/user/app/inline.txt', content: 'inline' } },
        { copy: { dest: '/home/user/app/host.txt', src: hostFile } },
      ],
      start: 'sleep 1000',
      ready: 'test -f /home/user/app/built.txt',
    };
    const info = await store.build(recipe, (l) => logs.push(l));
    assert.equal(info.workdir, '/home/user/app');
    assert.deepEqual(info.env, ['GREETING', 'HOME', 'LANG', 'PATH']);
    const resolved = await store.resolve('derived');
    assert.equal(readFileSync(join(resolved.rootfsPath, 'home/user/app/built.txt'), 'utf8'), 'hi from user in /home/user/app\n');
    assert.equal(statSync(join(resolved.rootfsPath, 'home/user/app/inline.txt')).uid, 101000);
    assert.equal(readFileSync(join(resolved.rootfsPath, 'home/user/app/host.txt'), 'utf8'), 'from the host');
    assert.equal(resolved.startCommand, 'sleep 1000');
    const again = await store.build({ ...recipe, name: 'derived-again' }, (l) => logs.push(l));
    assert.equal(again.digest, info.digest);
    assert.ok(logs.some((l) => l.includes('up to date')));
  });

  it('leaves nothing behind when a build fails', async () => {
    const layersBefore = readdirSync(join(store.root, 'layers')).length;
    await assert.rejects(store.build({ name: 'broken', from: { template: 'base' }, steps: [{ run: 'echo about to fail; exit 3' }] }, (l) => logs.push(l)), { code: 'backend_failure' });
    assert.equal(readdirSync(join(store.root, 'layers')).length, layersBefore);
    assert.deepEqual(readdirSync(join(store.root, 'staging')), []);
    await assert.rejects(store.resolve('broken'), { code: 'template_not_found' });
  });

  it('lists, deletes and garbage-collects', async () => {
    assert.deepEqual((await store.list()).map((t) => t.name), ['base', 'derived', 'derived-again']);
    await store.delete('derived');
    assert.equal(await store.gc(new Set()), 0, 'derived-again still names the layer');
    await store.delete('derived-again');
    assert.equal(await store.gc(new Set()), 1);
  });
});
