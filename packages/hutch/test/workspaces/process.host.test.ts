/**
 * Workspaces on the process tier (host): a codebase mounted under path rules, enforced by the
 * mount layout (hidden paths absent, read-only binds, writable overlay), changes with diffs,
 * checkpoints, revert and commit.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createProcessBackend } from '../../src/backends/process/index.js';
import { Engine } from '../../src/engine/engine.js';
import { BackendRegistry } from '../../src/port/registry.js';
import { createWorkspaceProvider } from '../../src/workspaces/index.js';
import { hostSkipReason } from '../process/helpers.js';

const skip = await hostSkipReason();

/** path → content hash (or link target) of every entry of a tree. */
function treeDigest(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel))) {
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, path));
      if (st.isSymbolicLink()) out.set(path, `link:${readlinkSync(join(root, path))}`);
      else if (st.isDirectory()) {
        out.set(path, 'dir');
        walk(path);
      } else out.set(path, createHash('sha256').update(readFileSync(join(root, path))).digest('hex') + `:${(st.mode & 0o777).toString(8)}`);
    }
  };
  walk('');
  return out;
}

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(dir));
}

describe('workspaces on the process tier (host)', { skip }, () => {
  let dataDir: string;
  let engine: Engine;
  let codebaseId: string;
  let source: string;

  before(async () => {
    dataDir = mkdtempSync('/var/tmp/hutch-ws-proc-');
    chmodSync(dataDir, 0o711);
    source = join(dataDir, 'source');
    const files: Record<string, string> = {
      'README.md': 'hello\n',
      'src/main.py': 'print(1)\nprint(2)\nprint(3)\n',
      'src/util.py': 'def f():\n    return 1\n',
      'src/gen/out.txt': 'generated\n',
      '.env': 'SECRET=1\n',
      'secrets/key.txt': 'top secret\n',
      'config/app.key': 'KEY\n',
      'config/app.toml': 'x = 1\n',
      'docs/guide.md': 'guide\n',
      'docs/plan.md': 'the plan, 24 bytes long\n',
      'notes/public.txt': 'public\n',
      'notes/pinned.txt': 'pinned\n',
      '.git/config': '[core]\n',
    };
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(source, path, '..'), { recursive: true });
      writeFileSync(join(source, path), content);
    }
    symlinkSync('secrets/key.txt', join(source, 'link-to-secret'));
    symlinkSync('/workspace/secrets', join(source, 'abs-link'));
    const provider = createWorkspaceProvider(dataDir);
    engine = await Engine.open({ dataDir, registry: new BackendRegistry().register(createProcessBackend({ dataDir: join(dataDir, 'process') })), workspaces: provider });
    codebaseId = (await engine.workspaces.codebases.addDirectory(source, 'demo')).id;
  });

  after(async () => {
    for (const s of engine.list({ state: ['running', 'paused', 'stopped'], limit: 1000 }).items) await engine.lifecycle.destroy(s.id);
    await engine.close();
    assert.deepEqual(mountsUnder(dataDir), [], 'no mount is left');
    rmSync(dataDir, { recursive: true, force: true });
  });

  const sh = async (id: string, shell: string) => engine.processes.run(id, { shell, cwd: '/workspace' });
  const rules = [
    { pattern: 'src/', level: 'write' as const },
    { pattern: 'src/gen/', level: 'read' as const },
    { pattern: 'notes/', level: 'none' as const, priority: 5 },
    { pattern: 'notes/public.txt', type: 'file' as const, level: 'read' as const, priority: 1 },
    { pattern: 'notes/pinned.txt', type: 'file' as const, level: 'read' as const, priority: 10 },
    { pattern: 'docs/plan.md', level: 'view' as const },
  ];
  const create = () => engine.lifecycle.create({ workspace: { codebase: 'demo', preset: 'agent-safe', rules } });

  it('hides `none` paths: ls, stat and open fail as if they did not exist', async () => {
    const sbx = await create();
    const ls = await sh(sbx.id, 'ls -A');
    assert.equal(ls.exitCode, 0, ls.stderr);
    assert.deepEqual(ls.stdout.trim().split('\n').sort(), ['README.md', 'abs-link', 'config', 'docs', 'link-to-secret', 'notes', 'src']);
    for (const path of ['.env', 'secrets', 'secrets/key.txt', 'config/app.key', '.git/config', 'notes/public.txt']) {
      const r = await sh(sbx.id, `stat ${path} 2>&1; cat ${path} 2>&1; ls ${path} 2>&1; true`);
      assert.match(r.stdout, /No such file or directory/, path);
      assert.doesNotMatch(r.stdout, /top secret|SECRET=1|^KEY$|^public$/m, path);
    }
    assert.equal((await sh(sbx.id, 'ls config')).stdout, 'app.toml\n');
    await engine.lifecycle.destroy(sbx.id);
  });

  it('resolves overlapping rules by priority, then type, then specificity', async () => {
    const sbx = await create();
    assert.equal((await sh(sbx.id, 'ls notes')).stdout, 'pinned.txt\n', 'notes/ none (priority 5) beats public.txt (1), loses to pinned.txt (10)');
    assert.equal((await sh(sbx.id, 'echo x >> src/gen/out.txt')).exitCode !== 0, true, 'src/gen/ (more specific) is read-only inside writable src/');
    assert.equal((await sh(sbx.id, 'echo x >> src/main.py')).exitCode, 0);
    await engine.lifecycle.destroy(sbx.id);
  });

  it('`read` paths cannot be written, renamed or deleted; `write` paths can; `view` files are listed but unreadable', async () => {
    const sbx = await create();
    for (const cmd of ['echo x >> README.md', 'mv README.md R.md', 'rm README.md', 'touch new.txt', 'rm -r docs', 'mv src/gen src/gen2', 'rm src/gen/out.txt', 'chmod 777 README.md']) {
      assert.notEqual((await sh(sbx.id, cmd)).exitCode, 0, cmd);
    }
    assert.equal((await sh(sbx.id, 'cat README.md')).stdout, 'hello\n');
    for (const cmd of ['echo more >> src/main.py', 'mv src/util.py src/util2.py', 'rm src/util2.py', 'mkdir src/pkg && echo y > src/pkg/a.py']) {
      const r = await sh(sbx.id, cmd);
      assert.equal(r.exitCode, 0, `${cmd}: ${r.stderr}`);
    }
    const view = await sh(sbx.id, 'stat -c %s docs/plan.md; cat docs/plan.md');
    assert.equal(view.stdout, '24\n');
    assert.match(view.stderr, /Permission denied/);
    await engine.lifecycle.destroy(sbx.id);
  });

  it('`..` and symlinks cannot reach hidden paths, inside the sandbox or through the files API', async () => {
    const sbx = await create();
    for (const cmd of ['cat link-to-secret', 'ls abs-link/', 'cat src/../secrets/key.txt', 'cat /workspace/../workspace/.env', 'ln -s ../secrets src/s && cat src/s/key.txt']) {
      const r = await sh(sbx.id, cmd);
      assert.notEqual(r.exitCode, 0, cmd);
      assert.doesNotMatch(r.stdout, /secret/);
    }
    for (const path of ['/workspace/.env', '/workspace/link-to-secret', '/workspace/abs-link/key.txt', '/workspace/secrets/key.txt', '/workspace/src/s/key.txt']) {
      await assert.rejects(async () => {
        for await (const _ of await engine.files.read(sbx.id, path)) void _;
      }, (err: { code?: string }) => err.code === 'file_not_found' || err.code === 'path_escape', path);
    }
    await assert.rejects(engine.files.read(sbx.id, '/workspace/../workspace/.env'), (err: { code?: string }) => err.code === 'path_escape' || err.code === 'file_not_found');
    await assert.rejects(engine.files.write(sbx.id, '/workspace/README.md', Buffer.from('x')));
    const listed = (await engine.files.list(sbx.id, '/workspace')).map((e) => e.name).sort();
    assert.equal(listed.includes('.env') || listed.includes('secrets') || listed.includes('.git'), false);
    await engine.lifecycle.destroy(sbx.id);
  });

  it('changes, checkpoint, revert and commit: exactly what the agent did, and nothing else reaches the codebase', async () => {
    const sbx = await create();
    const tree = join(dataDir, 'codebases', codebaseId, 'tree');
    const before = treeDigest(tree);
    const agent = [
      "printf 'print(1)\\nprint(20)\\nprint(3)\\n' > src/main.py",
      "printf 'x = 2\\n' > src/new.py",
      'rm src/util.py',
      "printf 'TOKEN=1\\n' > src/.env.local",
    ].join(' && ');
    assert.equal((await sh(sbx.id, agent)).exitCode, 0);
    const changes = await engine.workspaces.changes(sbx.id);
    assert.deepEqual(changes.map((c) => [c.path, c.kind]), [['src/.env.local', 'added'], ['src/main.py', 'modified'], ['src/new.py', 'added'], ['src/util.py', 'deleted']]);
    const main = changes.find((c) => c.path === 'src/main.py')!;
    assert.equal(main.size, 28);
    assert.equal(main.previousSize, 27);
    assert.match(main.diff!, /^--- a\/src\/main.py\n\+\+\+ b\/src\/main.py\n@@ .* @@\n print\(1\)\n-print\(2\)\n\+print\(20\)\n print\(3\)\n$/);
    assert.match(changes.find((c) => c.path === 'src/util.py')!.diff!, /^-def f\(\):/m);
    assert.deepEqual(treeDigest(tree), before, 'the codebase is untouched until commit');

    await engine.workspaces.checkpoint(sbx.id, 'cp1');
    assert.equal((await sh(sbx.id, "echo late >> src/new.py && rm src/main.py")).exitCode, 0);
    assert.deepEqual((await engine.workspaces.changes(sbx.id, { since: 'cp1' })).map((c) => [c.path, c.kind]), [['src/main.py', 'deleted'], ['src/new.py', 'modified']]);
    await engine.workspaces.revert(sbx.id, { to: 'cp1' });
    assert.deepEqual(await engine.workspaces.changes(sbx.id, { since: 'cp1' }), []);
    assert.equal((await sh(sbx.id, 'cat src/new.py src/main.py')).stdout, 'x = 2\nprint(1)\nprint(20)\nprint(3)\n');

    await engine.workspaces.revert(sbx.id, { paths: ['src/util.py'] });
    assert.equal((await sh(sbx.id, 'cat src/util.py')).stdout, 'def f():\n    return 1\n');
    await engine.workspaces.revert(sbx.id);
    assert.deepEqual(await engine.workspaces.changes(sbx.id), []);
    assert.equal((await sh(sbx.id, 'cat src/main.py; ls src')).stdout, 'print(1)\nprint(2)\nprint(3)\ngen\nmain.py\nutil.py\n');
    assert.equal((await sh(sbx.id, 'echo more >> src/main.py')).exitCode, 0, 'reverted files stay writable by the sandbox');
    await engine.workspaces.revert(sbx.id);

    assert.equal((await sh(sbx.id, agent)).exitCode, 0);
    const result = await engine.workspaces.commit(sbx.id);
    assert.deepEqual(result.committed, ['src/main.py', 'src/new.py', 'src/util.py']);
    assert.deepEqual(result.skipped.map((s) => s.path), ['src/.env.local']);
    const afterCommit = treeDigest(tree);
    const expected = new Map(before);
    expected.delete('src/util.py');
    expected.set('src/main.py', createHash('sha256').update('print(1)\nprint(20)\nprint(3)\n').digest('hex') + `:${before.get('src/main.py')!.split(':')[1]}`);
    expected.set('src/new.py', afterCommit.get('src/new.py')!);
    assert.deepEqual(afterCommit, expected, 'only the committed paths changed in the codebase');
    assert.equal(readFileSync(join(tree, 'src/new.py'), 'utf8'), 'x = 2\n');
    assert.deepEqual((await engine.workspaces.changes(sbx.id)).map((c) => c.path), ['src/.env.local'], 'after a commit, changes start from it');
    await engine.lifecycle.destroy(sbx.id);
    assert.deepEqual(mountsUnder(join(dataDir, 'workspaces')), []);
  });
});
