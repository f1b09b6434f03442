/**
 * Workspaces end to end, as a user runs them: `hutch serve` (process tier, then `--backend
 * container`), a codebase added with `hutch codebase add` (a tar of a host directory uploaded
 * through the API), a sandbox created through @hutch/sdk with the agent-safe preset plus `src/`
 * writable, an agent-like script that edits, creates and deletes files, then `hutch changes` /
 * `hutch diff`, `hutch checkpoint`, `hutch revert` and `hutch commit`, checking that exactly those
 * files change in the codebase and nothing else does.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, readlink, lstat, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { Codebases, NotFoundError, Sandbox, type WorkspaceChange } from '@hutch/sdk';
import { containerSkipReason } from '../container/helpers.js';
import { processTierUnavailable } from './harness.js';
import { envWithoutHutch, HUTCH_MAIN, startServe } from './serve-process.js';

type Connection = { apiUrl: string; apiKey: string };


/** Runs the CLI against the server to completion. */
function hutch(connection: Connection, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [HUTCH_MAIN, ...args], { env: { ...envWithoutHutch(), HUTCH_API_URL: connection.apiUrl, HUTCH_API_KEY: connection.apiKey }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((done, fail) => {
    child.once('error', fail);
    child.once('close', (code) => done({ code, stdout, stderr }));
  });
}

async function ok(connection: Connection, ...args: string[]): Promise<string> {
  const result = await hutch(connection, ...args);
  assert.equal(result.code, 0, `hutch ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

function mountsUnder(dir: string): Promise<string[]> {
  return readFile('/proc/self/mountinfo', 'utf8').then((text) => text.split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(dir)));
}

/** Runs `hutch serve` on a fresh data directory under /var/tmp (0711), then checks nothing stays mounted. */
async function withServer(backend: string, work: (connection: Connection, dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = await mkdtemp('/var/tmp/hutch-ws-e2e-');
  await chmod(dataDir, 0o711);
  const apiKey = 'hutch_' + 'ef'.repeat(32);
  try {
    const server = await startServe({ dataDir, apiKey, ...(backend === 'process' ? {} : { backend }) });
    const connection = { apiUrl: server.apiUrl, apiKey };
    try {
      await work(connection, dataDir);
    } finally {
      for await (const info of Sandbox.listAll({ ...connection, state: ['creating', 'running', 'paused', 'stopped'] })) await Sandbox.destroy(info.id, connection);
      await server.stop();
    }
  } finally {
    const left = await mountsUnder(dataDir);
    await rm(dataDir, { recursive: true, force: true });
    assert.deepEqual(left, [], 'no mount is left under the data directory');
  }
}

const SOURCE: Record<string, string> = {
  'README.md': 'hello\n',
  'src/main.py': 'print(1)\nprint(2)\nprint(3)\n',
  'src/util.py': 'def f():\n    return 1\n',
  '.env': 'SECRET=1\n',
  'secrets/key.txt': 'top secret\n',
  'docs/guide.md': 'guide\n',
};

/** path → sha256 (or link target, or `dir`) of every entry under `root`. */
async function digest(root: string, rel = '', out = new Map<string, string>()): Promise<Map<string, string>> {
  for (const name of (await readdir(join(root, rel))).sort()) {
    const path = rel ? `${rel}/${name}` : name;
    const st = await lstat(join(root, path));
    if (st.isSymbolicLink()) out.set(path, `link:${await readlink(join(root, path))}`);
    else if (st.isDirectory()) {
      out.set(path, 'dir');
      await digest(root, path, out);
    } else out.set(path, createHash('sha256').update(await readFile(join(root, path))).digest('hex'));
  }
  return out;
}

/** The codebase as the server has it: its archive, unpacked and digested. */
async function codebaseDigest(connection: Connection, name: string, scratch: string): Promise<Map<string, string>> {
  const dir = await mkdtemp(join(scratch, 'archive-'));
  const archive = new Uint8Array(await new Response(await Codebases.archive(name, connection)).arrayBuffer());
  await new Promise<void>((done, fail) => {
    const tar = spawn('tar', ['-x', '-f', '-', '-C', dir], { stdio: ['pipe', 'ignore', 'inherit'] });
    tar.once('error', fail);
    tar.once('close', (code) => (code === 0 ? done() : fail(new Error(`tar exited ${code}`))));
    tar.stdin.end(archive);
  });
  const result = await digest(dir);
  await rm(dir, { recursive: true, force: true });
  return result;
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const AGENT = "printf 'print(1)\\nprint(20)\\nprint(3)\\n' > src/main.py && printf 'x = 2\\n' > src/new.py && rm src/util.py";

async function exerciseWorkspace(connection: Connection, dataDir: string, options: { user?: string } = {}): Promise<void> {
  const scratch = await mkdtemp(join(dataDir, 'scratch-'));
  const source = join(scratch, 'source');
  for (const [path, content] of Object.entries(SOURCE)) {
    await mkdir(dirname(join(source, path)), { recursive: true });
    await writeFile(join(source, path), content);
  }

  // Add the codebase through the CLI (tar upload over the API); the SDK sees it.
  const id = (await ok(connection, 'codebase', 'add', 'demo', source)).trim();
  assert.match(id, /^cb_[a-z0-9]+$/);
  const info = await Codebases.get('demo', connection);
  assert.equal(info.id, id);
  assert.equal(info.fileCount, 9);
  assert.match(await ok(connection, 'codebase', 'ls'), new RegExp(`${id}\\s+demo\\s+`));
  assert.deepEqual((JSON.parse(await ok(connection, 'codebase', 'ls', '--json')) as Array<{ name: string }>).map((c) => c.name), ['demo']);
  await assert.rejects(Codebases.get('nope', connection), (err: unknown) => err instanceof NotFoundError && err.code === 'codebase_not_found');
  const missing = await hutch(connection, 'codebase', 'get', 'nope');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^error: .* \(codebase_not_found\)\n$/);
  const before = await codebaseDigest(connection, 'demo', scratch);

  const sandbox = await Sandbox.create({ ...connection, timeoutMs: 120_000, workspace: { codebase: 'demo', preset: 'agent-safe', rules: [{ pattern: 'src/', level: 'write' }] } });
  const sh = async (shell: string) => {
    const r = await sandbox.commands.run(shell, { cwd: '/workspace', ...(options.user ? { user: options.user } : {}) });
    assert.equal(r.exitCode, 0, `${shell}: ${r.stderr}`);
    return r.stdout;
  };
  assert.equal(await sh('ls -A | sort | tr "\\n" " "'), 'README.md docs src ', 'agent-safe hides .env and secrets/');
  assert.notEqual((await sandbox.commands.run('echo x >> README.md', { cwd: '/workspace', ...(options.user ? { user: options.user } : {}) })).exitCode, 0, 'README.md is read-only');

  // The agent edits, creates and deletes; changes lists exactly those, with a diff.
  await sh(AGENT);
  const changes: WorkspaceChange[] = await sandbox.workspace.changes();
  assert.deepEqual(changes.map((c) => [c.path, c.kind]), [['src/main.py', 'modified'], ['src/new.py', 'added'], ['src/util.py', 'deleted']]);
  const cliChanges = JSON.parse(await ok(connection, 'changes', sandbox.id, '--json')) as WorkspaceChange[];
  assert.deepEqual(cliChanges, changes);
  assert.equal(await ok(connection, 'changes', sandbox.id), 'M src/main.py  27 B -> 28 B\nA src/new.py  6 B\nD src/util.py  22 B\n');
  assert.match(await ok(connection, 'diff', sandbox.id), /--- a\/src\/main.py\n\+\+\+ b\/src\/main.py\n@@ .* @@\n print\(1\)\n-print\(2\)\n\+print\(20\)\n print\(3\)\n/);
  assert.deepEqual(await codebaseDigest(connection, 'demo', scratch), before, 'the codebase is untouched until commit');

  // Checkpoint, more edits, revert to the checkpoint; revert a path; revert everything.
  assert.match(await ok(connection, 'checkpoint', sandbox.id, 'cp1'), /^cp1 \(3 changes since start\)\n$/);
  await sh('echo late >> src/new.py && rm src/main.py');
  assert.deepEqual((await sandbox.workspace.changes({ since: 'cp1', diff: false })).map((c) => [c.path, c.kind]), [['src/main.py', 'deleted'], ['src/new.py', 'modified']]);
  assert.equal(await ok(connection, 'revert', sandbox.id, '--all', '--to', 'cp1'), 'D src/main.py  28 B\nM src/new.py  6 B -> 11 B\n');
  assert.deepEqual(await sandbox.workspace.changes({ since: 'cp1' }), []);
  await ok(connection, 'revert', sandbox.id, 'src/util.py');
  assert.equal(await sh('cat src/util.py'), SOURCE['src/util.py']);
  const usage = await hutch(connection, 'revert', sandbox.id);
  assert.equal(usage.code, 2, 'revert needs paths or --all');
  await sandbox.workspace.revert({ all: true });
  assert.deepEqual(await sandbox.workspace.changes(), []);
  assert.equal(await sh('cat src/main.py; ls src | tr "\\n" " "'), `${SOURCE['src/main.py']}main.py util.py `);

  // The agent again; commit writes exactly its changes to the codebase.
  await sh(AGENT);
  assert.equal(await ok(connection, 'commit', sandbox.id), 'committed src/main.py\ncommitted src/new.py\ncommitted src/util.py\n');
  const after = await codebaseDigest(connection, 'demo', scratch);
  const expected = new Map(before);
  expected.delete('src/util.py');
  expected.set('src/main.py', sha('print(1)\nprint(20)\nprint(3)\n'));
  expected.set('src/new.py', sha('x = 2\n'));
  assert.deepEqual(after, expected, 'only the committed paths changed in the codebase');
  assert.equal(await Codebases.readFile('demo', '/src/new.py', connection), 'x = 2\n');
  assert.deepEqual(await sandbox.workspace.changes(), [], 'after a commit, changes start from it');

  await sandbox.destroy();
  assert.equal(await ok(connection, 'codebase', 'rm', 'demo'), 'demo\n');
  await rm(scratch, { recursive: true, force: true });
}

describe('workspaces end to end (hutch serve, SDK and CLI)', () => {
  it('process tier: codebase add, agent-safe sandbox, changes/diff, checkpoint, revert, commit', async (t) => {
    const reason = await processTierUnavailable();
    if (reason) return t.skip(reason);
    await withServer('process', (connection, dataDir) => exerciseWorkspace(connection, dataDir));
  });

  it('container tier: the same, as root in the base template', async (t) => {
    const reason = await containerSkipReason();
    if (reason) return t.skip(reason);
    await withServer('container', (connection, dataDir) => exerciseWorkspace(connection, dataDir, { user: 'root' }));
  });
});
