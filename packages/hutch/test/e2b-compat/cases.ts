/**
 * The E2B compatibility cases, run against a real Hutch server by one version of the unmodified
 * `e2b` SDK each (see sdk.e2b.test.ts). Everything goes through the SDK's public API, configured
 * the way a user would: `E2B_API_URL`, `E2B_SANDBOX_URL` and `E2B_API_KEY` in the environment.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as E2b from 'e2b';

export type E2bModule = typeof E2b;
type Sbx = E2b.Sandbox;

export interface CaseOptions {
  /** The server's URL (`http://127.0.0.1:<port>`). */
  url: string;
}

/** Resolves once `predicate` holds for `text()`; fails after `attempts` checks `ms` apart. */
async function until(what: string, predicate: () => boolean | Promise<boolean>, attempts = 100, ms = 100): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await predicate()) return;
    await sleep(ms);
  }
  assert.fail(`gave up waiting for ${what}`);
}

export function runE2bCases(label: string, sdk: E2bModule, options: CaseOptions): void {
  const { Sandbox, CommandExitError, TimeoutError } = sdk;
  const suiteTag = `suite-${label}-${process.pid}`;
  const created: string[] = [];
  const create = async (opts: Parameters<typeof Sandbox.create>[1] = {}) => {
    const sbx = await Sandbox.create('base', { ...opts, metadata: { suite: suiteTag, ...opts.metadata } });
    created.push(sbx.sandboxId);
    return sbx;
  };

  describe(`e2b ${label}`, () => {
    let sbx: Sbx;
    after(async () => {
      for (const id of created) await Sandbox.kill(id);
    });

    it('creates a sandbox from base with envs and metadata; commands run as user in /home/user', async () => {
      sbx = await create({ envs: { FOO: 'bar' }, metadata: { team: 'a b&c' } });
      const result = await sbx.commands.run('echo $FOO; whoami; pwd');
      assert.equal(result.exitCode, 0);
      assert.equal(result.stdout, 'bar\nuser\n/home/user\n');
      const info = await sbx.getInfo();
      assert.equal(info.sandboxId, sbx.sandboxId);
      assert.equal(info.metadata.team, 'a b&c');
      assert.equal(info.state, 'running');
    });

    it('streams output to callbacks and passes per-command envs and cwd', async () => {
      const out: string[] = [];
      const err: string[] = [];
      const result = await sbx.commands.run('echo one; echo two >&2; echo $X; pwd', { envs: { X: 'y' }, cwd: '/tmp', onStdout: (d) => void out.push(d), onStderr: (d) => void err.push(d) });
      assert.equal(out.join(''), 'one\ny\n/tmp\n');
      assert.equal(err.join(''), 'two\n');
      assert.equal(result.stderr, 'two\n');
    });

    it('rejects a non-zero exit with CommandExitError carrying the exit code and output', async () => {
      await assert.rejects(sbx.commands.run('echo partial; exit 3'), (e: unknown) => {
        assert.ok(e instanceof CommandExitError, String(e));
        assert.equal(e.exitCode, 3);
        assert.equal(e.stdout, 'partial\n');
        return true;
      });
    });

    it('times a command out with TimeoutError and kills it in the sandbox', async () => {
      await assert.rejects(sbx.commands.run('sleep 77; echo never', { timeoutMs: 1500 }), (e: unknown) => e instanceof TimeoutError);
      await until('the timed-out process to be killed', async () => !(await sbx.commands.list()).some((p) => p.args.join(' ').includes('sleep 77')));
    });

    it('runs in the background: list, sendStdin, wait, real pids', async () => {
      const handle = await sbx.commands.run('read line; echo got $line', { background: true, stdin: true });
      assert.ok((await sbx.commands.list()).some((p) => p.pid === handle.pid));
      assert.equal((await sbx.commands.run(`kill -0 ${handle.pid} && echo alive`)).stdout, 'alive\n', 'the pid is the real in-sandbox pid');
      await sbx.commands.sendStdin(handle.pid, 'hello\n');
      const result = await handle.wait();
      assert.equal(result.stdout, 'got hello\n');
    });

    it('connects to a running process and kills it; killing an unknown pid gives false', async () => {
      const handle = await sbx.commands.run('echo started; sleep 600', { background: true });
      const again = await sbx.commands.connect(handle.pid);
      assert.equal(again.pid, handle.pid);
      assert.equal(await sbx.commands.kill(handle.pid), true);
      await assert.rejects(again.wait(), (e: unknown) => e instanceof CommandExitError);
      assert.equal(await sbx.commands.kill(999_999), false);
    });

    it('drives a PTY: input, resize, kill', async () => {
      let screen = '';
      const terminal = await sbx.pty.create({ cols: 80, rows: 24, onData: (d) => void (screen += Buffer.from(d).toString()) });
      await sbx.pty.sendInput(terminal.pid, new TextEncoder().encode('echo hi-$((40+2))\n'));
      await until('the PTY echo', () => screen.includes('hi-42'));
      await sbx.pty.resize(terminal.pid, { cols: 123, rows: 30 });
      await sbx.pty.sendInput(terminal.pid, new TextEncoder().encode('stty size\n'));
      await until('the new PTY size', () => screen.includes('30 123'));
      assert.equal(await sbx.pty.kill(terminal.pid), true);
    });

    it('writes, reads, lists, stats, renames and removes files as the user', async () => {
      const written = await sbx.files.write('notes/a.txt', 'hello');
      assert.equal(written.path, '/home/user/notes/a.txt');
      assert.equal(await sbx.files.read('/home/user/notes/a.txt'), 'hello');
      assert.equal((await sbx.commands.run('echo more >> notes/a.txt && stat -c %U notes/a.txt')).stdout, 'user\n', 'uploaded files belong to the user');
      assert.equal(await sbx.files.read('notes/a.txt'), 'hellomore\n');
      await sbx.files.write([{ path: 'notes/b.txt', data: 'b' }, { path: '/tmp/c.txt', data: new Blob(['c']) }]);
      assert.deepEqual((await sbx.files.list('notes')).map((e) => e.name).sort(), ['a.txt', 'b.txt']);
      const info = await sbx.files.getInfo('notes/a.txt');
      assert.equal(info.type, sdk.FileType.FILE);
      assert.equal(info.size, 10);
      assert.equal(await sbx.files.exists('notes/missing'), false);
      assert.equal(await sbx.files.makeDir('made/deep'), true);
      assert.equal(await sbx.files.makeDir('made/deep'), false);
      const moved = await sbx.files.rename('notes/b.txt', 'made/deep/b2.txt');
      assert.equal(moved.path, '/home/user/made/deep/b2.txt');
      await sbx.files.remove('made');
      assert.equal(await sbx.files.exists('made'), false);
      await assert.rejects(sbx.files.read('nope.txt'), (e: unknown) => e instanceof sdk.NotFoundError);
    });

    it('uploads raw and gzip-encoded octet streams, and reads with gzip', async () => {
      await sbx.files.write('raw.txt', 'raw body', { useOctetStream: true });
      await sbx.files.write('deep/gz.txt', 'zipped body', { gzip: true });
      assert.equal(await sbx.files.read('raw.txt'), 'raw body');
      assert.equal(await sbx.files.read('deep/gz.txt', { gzip: true }), 'zipped body');
      assert.equal((await sbx.commands.run('stat -c %U deep/gz.txt')).stdout, 'user\n');
    });

    it('watches a directory', async () => {
      await sbx.files.makeDir('watched');
      const names: string[] = [];
      const watcher = await sbx.files.watchDir('watched', (event) => void names.push(event.name));
      await sbx.files.write('watched/f.txt', 'x');
      await until('a watch event', () => names.includes('f.txt'));
      await watcher.stop();
    });

    it('uploads and downloads through signed URLs', async () => {
      const upload = await sbx.uploadUrl('signed/up.txt');
      const form = new FormData();
      form.append('file', new Blob(['via url']), 'signed/up.txt');
      const res = await fetch(upload, { method: 'POST', body: form });
      assert.equal(res.status, 200, await res.clone().text());
      const download = await sbx.downloadUrl('signed/up.txt');
      assert.equal(await (await fetch(download)).text(), 'via url');
      const tampered = download.replace(/signature=v1_[^&]+/, 'signature=v1_wrong');
      assert.equal((await fetch(tampered)).status, 401);
    });

    it('proxies a port to python3 -m http.server; a closed port gives the documented 502', async () => {
      await sbx.files.write('site/hello.txt', 'from python');
      await sbx.commands.run('python3 -m http.server 8000', { background: true, cwd: '/home/user/site' });
      const get = () => fetch(`${options.url}/hello.txt`, { headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '8000' } });
      await until('the http server', async () => (await get()).status === 200);
      assert.equal(await (await get()).text(), 'from python');
      const closed = await fetch(`${options.url}/`, { headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '8001' } });
      assert.equal(closed.status, 502);
      assert.equal(((await closed.json()) as { message: string }).message, 'The sandbox is running but port is not open');
    });

    it('lists sandboxes by metadata, page by page', async () => {
      const second = await create({ metadata: { role: 'second' } });
      const first = Sandbox.list({ query: { metadata: { suite: suiteTag } }, limit: 1 });
      const page1 = await first.nextItems();
      assert.equal(page1.length, 1);
      assert.equal(first.hasNext, true);
      const page2 = await first.nextItems();
      assert.equal(page2.length, 1);
      assert.equal(first.hasNext, false);
      assert.deepEqual([...page1, ...page2].map((s) => s.sandboxId).sort(), [sbx.sandboxId, second.sandboxId].sort());
      const filtered = await Sandbox.list({ query: { metadata: { suite: suiteTag, role: 'second' } } }).nextItems();
      assert.deepEqual(filtered.map((s) => s.sandboxId), [second.sandboxId]);
      await second.kill();
    });

    it('moves the deadline with setTimeout', async () => {
      await sbx.setTimeout(600_000);
      const endAt = (await sbx.getInfo()).endAt.getTime();
      assert.ok(endAt > Date.now() + 500_000, `endAt ${new Date(endAt).toISOString()}`);
    });

    it('pauses (502 on envd meanwhile) and resumes through connect, keeping files and processes', async () => {
      const sleeper = await sbx.commands.run('sleep 900', { background: true });
      await sbx.files.write('keep.txt', 'kept');
      assert.equal(await sbx.betaPause(), true);
      assert.equal(await sbx.isRunning(), false);
      assert.equal(await Sandbox.betaPause(sbx.sandboxId), false, 'pausing a paused sandbox answers 409 (false)');
      assert.equal((await Sandbox.getInfo(sbx.sandboxId)).state, 'paused');
      const resumed = await Sandbox.connect(sbx.sandboxId);
      assert.equal(await resumed.isRunning(), true);
      assert.equal(await resumed.files.read('keep.txt'), 'kept');
      assert.ok((await resumed.commands.list()).some((p) => p.pid === sleeper.pid), 'processes survive a pause');
    });

    it('drops a running command when its sandbox is killed (TimeoutError, as from E2B)', async () => {
      let started: () => void = () => undefined;
      const up = new Promise<void>((resolve) => (started = resolve));
      const running = sbx.commands.run('echo up; sleep 600', { onStdout: () => started() });
      const outcome = assert.rejects(running, (e: unknown) => e instanceof TimeoutError);
      await up;
      assert.equal(await sbx.kill(), true);
      await outcome;
    });

    it('kills: isRunning false, a second kill false, getInfo SandboxNotFoundError', async () => {
      assert.equal(await sbx.isRunning(), false);
      assert.equal(await Sandbox.kill(sbx.sandboxId), false);
      await assert.rejects(Sandbox.getInfo(sbx.sandboxId), (e: unknown) => e instanceof sdk.SandboxNotFoundError);
      await assert.rejects(sbx.commands.run('echo gone'), (e: unknown) => e instanceof sdk.SandboxError);
    });
  });
}
