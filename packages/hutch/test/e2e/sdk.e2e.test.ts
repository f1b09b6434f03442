/**
 * End to end through @hutch/sdk against a real server on 127.0.0.1: the fake backend always, the
 * process tier (real bash under bubblewrap) when this machine supports it. Covers create → exec →
 * stream → files → sessions → snapshots → destroy and every documented error code path.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  AuthenticationError,
  CapacityRejectedError,
  getCapabilities,
  getHealth,
  HutchApiError,
  InvalidTransitionError,
  NotFoundError,
  Sandbox,
  Snapshots,
  TimeoutError,
  type CapabilityReport,
  type CommandFrame,
  type ConnectionOptions,
  type SandboxCreateOptions,
} from '@hutch/sdk';
import { processTierUnavailable, startTestServer, type TestServer, type TierName } from './harness.js';
import { readmeExample } from './readme-example.js';

const processSkip = await processTierUnavailable();
if (processSkip) console.log(`# skipping the process tier: ${processSkip}`);

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield new TextEncoder().encode(part);
}

function expectCode(code: string, Class: new (...args: never[]) => Error = HutchApiError) {
  return (err: unknown) => {
    assert.ok(err instanceof Class, `expected ${Class.name}, got ${String(err)}`);
    assert.equal((err as HutchApiError).code, code);
    return true;
  };
}

for (const tier of ['fake', 'process'] as TierName[]) {
  const skip = tier === 'process' ? processSkip : undefined;
  describe(`SDK end to end over the ${tier} backend`, { skip: skip ?? false }, () => {
    let server: TestServer;
    let conn: ConnectionOptions;
    let report: CapabilityReport;
    const created: Sandbox[] = [];
    const has = (capability: string) => report.capabilities.includes(capability);

    async function create(options: SandboxCreateOptions = {}): Promise<Sandbox> {
      const sandbox = await Sandbox.create({ ...conn, timeoutMs: 120_000, ...options });
      created.push(sandbox);
      return sandbox;
    }

    before(async () => {
      server = await startTestServer({ backend: tier });
      conn = { apiUrl: server.url, apiKey: server.apiKey };
      report = await getCapabilities(conn);
    });
    afterEach(async () => {
      for (const sandbox of created.splice(0)) if (sandbox.info.state !== 'destroyed') await sandbox.destroy().catch((err: unknown) => assert.ok(err instanceof NotFoundError, String(err)));
    });
    after(async () => server?.close());

    it('answers health without a key and reports capabilities', async () => {
      assert.equal((await getHealth({ apiUrl: server.url })).status, 'ok');
      assert.equal(report.kind, tier);
    });

    it('creates a running sandbox with an access token and reads it back', async () => {
      const sandbox = await create({ metadata: { suite: 'sdk-e2e' }, env: { GREETING: 'hello' } });
      assert.match(sandbox.id, /^sbx/);
      assert.equal(sandbox.sandboxId, sandbox.id);
      assert.equal(sandbox.info.state, 'running');
      assert.ok(sandbox.accessToken, 'create returns an access token');
      const info = await sandbox.getInfo();
      assert.equal(info.id, sandbox.id);
      assert.deepEqual(info.metadata, { suite: 'sdk-e2e' });
      assert.deepEqual(info.envKeys, ['GREETING']);
      const again = await Sandbox.connect(sandbox.id, conn);
      assert.equal(again.info.state, 'running');
      assert.equal(again.accessToken, undefined);
    });

    it('runs commands: output, non-zero exits as results, callbacks, env and cwd', async () => {
      const sandbox = await create({ env: { GREETING: 'hello' } });
      const hi = await sandbox.commands.run('echo hi');
      assert.equal(hi.stdout, 'hi\n');
      assert.equal(hi.exitCode, 0);
      assert.equal(hi.reason, 'exited');
      assert.ok(hi.pid > 0);
      const failing = await sandbox.commands.run('echo oops >&2; exit 3');
      assert.equal(failing.exitCode, 3);
      assert.equal(failing.stderr, 'oops\n');
      const out: string[] = [];
      const err: string[] = [];
      await sandbox.commands.run('echo out; echo err >&2', { onStdout: (d) => out.push(d), onStderr: (d) => err.push(d) });
      assert.equal(out.join(''), 'out\n');
      assert.equal(err.join(''), 'err\n');
      assert.equal((await sandbox.commands.run('printenv GREETING')).stdout, 'hello\n');
      assert.equal((await sandbox.commands.run('printenv EXTRA', { env: { EXTRA: 'x' } })).stdout, 'x\n');
      assert.equal((await sandbox.commands.run('pwd', { cwd: '/tmp' })).stdout, '/tmp\n');
      assert.equal((await sandbox.commands.run(['echo', 'two words'])).stdout, 'two words\n');
    });

    it('streams frames as bytes: start, output, exit', async () => {
      const sandbox = await create();
      const frames: CommandFrame[] = [];
      for await (const frame of sandbox.commands.stream('echo a; echo b >&2')) frames.push(frame);
      assert.equal(frames[0]?.type, 'start');
      const last = frames.at(-1)!;
      assert.ok(last.type === 'exit' && last.exitCode === 0 && last.reason === 'exited');
      const text = (stream: string) =>
        frames
          .filter((f): f is Extract<CommandFrame, { type: 'output' }> => f.type === 'output' && f.stream === stream)
          .map((f) => new TextDecoder().decode(f.data))
          .join('');
      assert.equal(text('stdout'), 'a\n');
      assert.equal(text('stderr'), 'b\n');
      const output = frames.find((f) => f.type === 'output');
      assert.ok(output && output.type === 'output' && output.data instanceof Uint8Array && output.seq >= 1);
    });

    it('throws TimeoutError (process_timeout) when a command outlives its timeout', async () => {
      const sandbox = await create();
      await assert.rejects(sandbox.commands.run('sleep 30', { timeoutMs: 300 }), expectCode('process_timeout', TimeoutError));
    });

    it('runs background commands: wait, list, reattach with replay, stdin, kill', async () => {
      const sandbox = await create();
      const handle = await sandbox.commands.run('echo started; sleep 0.3; echo done', { background: true });
      assert.ok(handle.pid > 0);
      const listed = await sandbox.commands.list();
      assert.ok(listed.some((p) => p.pid === handle.pid));
      const result = await handle.wait();
      assert.equal(result.stdout, 'started\ndone\n');
      assert.equal(result.exitCode, 0);

      const replay = await sandbox.commands.connect(handle.pid);
      const frames: CommandFrame[] = [];
      for await (const frame of replay) frames.push(frame);
      assert.equal(frames.at(-1)?.type, 'exit');
      assert.equal(replay.stdout, 'started\ndone\n');

      const cat = await sandbox.commands.run('cat', { background: true, keepStdinOpen: true });
      await cat.sendStdin('ping\n');
      await cat.closeStdin();
      assert.equal((await cat.wait()).stdout, 'ping\n');

      const seen: string[] = [];
      const sleeper = await sandbox.commands.run('echo ready; sleep 60', { background: true, onStdout: (d) => seen.push(d) });
      for await (const frame of sleeper) if (frame.type === 'output') break;
      assert.deepEqual(seen, ['ready\n']);
      await sleeper.kill('SIGKILL');
      const killed = await sleeper.wait();
      assert.equal(killed.reason, 'signaled');
      assert.equal(killed.signal, 'SIGKILL');
      assert.equal(killed.exitCode, 137);
      await assert.rejects(sandbox.commands.connect(999_999), expectCode('process_not_found', NotFoundError));
    });

    it('reads and writes files in every shape, lists, stats, moves and removes', async () => {
      const sandbox = await create();
      const dir = '/tmp/e2e-files';
      await sandbox.files.makeDir(`${dir}/sub`);
      const entry = await sandbox.files.write(`${dir}/a.txt`, 'alpha\n');
      assert.equal(entry.size, 6);
      assert.equal(await sandbox.files.read(`${dir}/a.txt`), 'alpha\n');
      await sandbox.files.write(`${dir}/b.bin`, new Uint8Array([0, 1, 2, 255]));
      assert.deepEqual(await sandbox.files.read(`${dir}/b.bin`, { format: 'bytes' }), new Uint8Array([0, 1, 2, 255]));
      await sandbox.files.write(`${dir}/c.txt`, chunks('one ', 'two ', 'three'));
      const stream = await sandbox.files.read(`${dir}/c.txt`, { format: 'stream' });
      assert.equal(await new Response(stream).text(), 'one two three');
      await sandbox.files.write(`${dir}/run.sh`, 'echo ran\n', { mode: 0o755 });
      assert.equal((await sandbox.files.stat(`${dir}/run.sh`)).mode & 0o777, 0o755);
      assert.equal((await sandbox.commands.run(`cat ${dir}/a.txt`)).stdout, 'alpha\n');

      const names = (await sandbox.files.list(dir)).map((e) => e.name).sort();
      assert.deepEqual(names, ['a.txt', 'b.bin', 'c.txt', 'run.sh', 'sub']);
      const stat = await sandbox.files.stat(`${dir}/sub`);
      assert.equal(stat.type, 'dir');
      assert.equal(await sandbox.files.exists(`${dir}/a.txt`), true);
      assert.equal(await sandbox.files.exists(`${dir}/nope`), false);
      await sandbox.files.move(`${dir}/a.txt`, `${dir}/sub/a.txt`);
      assert.equal(await sandbox.files.read(`${dir}/sub/a.txt`), 'alpha\n');
      await sandbox.files.remove(`${dir}/sub`, { recursive: true });
      assert.equal(await sandbox.files.exists(`${dir}/sub`), false);
      await assert.rejects(sandbox.files.read(`${dir}/missing.txt`), expectCode('file_not_found', NotFoundError));
    });

    it('watches a directory', async (t) => {
      if (!has('files.watch')) return t.skip(`${tier} lacks files.watch`);
      const sandbox = await create();
      await sandbox.files.makeDir('/tmp/watched');
      const controller = new AbortController();
      const events = sandbox.files.watch('/tmp/watched', { signal: controller.signal });
      const first = events.next();
      // The watch is registered once the response starts; writing until an event arrives avoids a race without sleeping.
      let n = 0;
      let got: IteratorResult<{ path: string }> | undefined;
      const settle = first.then((r) => (got = r));
      while (!got) {
        assert.ok(n < 500, 'no watch event after 500 writes');
        await sandbox.files.write(`/tmp/watched/f${n++}.txt`, 'x');
        await Promise.race([settle, new Promise((resolve) => setImmediate(resolve))]);
      }
      assert.equal(got.done, false);
      assert.match(got.value.path, /\/tmp\/watched\/f\d+\.txt$/);
      controller.abort();
      await events.return(undefined);
    });

    it('keeps shell state in sessions and streams session output', async (t) => {
      // The engine's session runs `bash` reading commands from stdin; the fake's mini-shell cannot.
      if (tier === 'fake') return t.skip('the fake backend cannot host sessions (its mini-shell does not read a script from stdin)');
      const sandbox = await create();
      const session = await sandbox.sessions.create({ cwd: '/' });
      assert.ok(session.pid > 0);
      await session.run('cd /tmp');
      assert.equal((await session.run('pwd')).stdout, '/tmp\n');
      const parts: string[] = [];
      const viaCallback = await session.run('echo streamed', { onStdout: (d) => parts.push(d) });
      assert.equal(parts.join(''), 'streamed\n');
      assert.equal(viaCallback.exitCode, 0);
      const frames = [];
      for await (const frame of session.stream('echo x; echo y >&2')) frames.push(frame);
      assert.deepEqual(frames.at(-1), { type: 'exit', exitCode: 0 });
      assert.ok((await sandbox.sessions.list()).some((s) => s.id === session.id));
      await session.destroy();
      await assert.rejects(sandbox.sessions.get(session.id), expectCode('session_not_found', NotFoundError));
    });

    it('keeps env and background jobs in a session (real shells)', async (t) => {
      if (tier === 'fake') return t.skip('the fake mini-shell has no export or jobs');
      const sandbox = await create();
      const session = await sandbox.sessions.create();
      await session.run('export COLOR=green');
      assert.equal((await session.run('printenv COLOR')).stdout, 'green\n');
      assert.equal((await session.run('false')).exitCode, 1);
      await session.run('sleep 60 &');
      assert.match((await session.run('jobs')).stdout, /sleep 60/);
      await session.destroy();
    });

    it('pauses, resumes, extends the deadline, reports stats and events, destroys', async (t) => {
      const sandbox = await create();
      if (has('lifecycle.pause')) {
        assert.equal((await sandbox.pause()).state, 'paused');
        await assert.rejects(sandbox.pause(), expectCode('invalid_transition', InvalidTransitionError));
        assert.equal((await sandbox.resume()).state, 'running');
        assert.equal((await sandbox.commands.run('echo back')).stdout, 'back\n');
      } else t.diagnostic(`${tier} lacks lifecycle.pause; pause/resume not exercised`);
      await assert.rejects(sandbox.resume(), expectCode('invalid_transition', InvalidTransitionError));
      const before = sandbox.info.deadlineAt;
      const extended = await sandbox.setTimeout(600_000);
      assert.ok(extended.deadlineAt && (!before || extended.deadlineAt > before));
      if (has('stats')) {
        const stats = await sandbox.stats();
        assert.equal(typeof stats.memoryBytes, 'number');
      }
      const events = await sandbox.events();
      assert.ok(events.length > 0);
      assert.ok(events.every((e, i) => i === 0 || e.seq > events[i - 1]!.seq));
      const later = await sandbox.events({ after: events[0]!.seq });
      assert.equal(later.length, events.length - 1);
      const gone = await sandbox.kill();
      assert.equal(gone.state, 'destroyed');
      await assert.rejects(sandbox.commands.run('echo late'), expectCode('invalid_transition', InvalidTransitionError));
    });

    it('follows events live', async () => {
      const sandbox = await create();
      const controller = new AbortController();
      const seen: string[] = [];
      const follow = (async () => {
        for await (const event of sandbox.followEvents({ signal: controller.signal })) {
          seen.push(event.type);
          if (event.type.includes('exit')) return;
        }
      })();
      await sandbox.commands.run('true');
      await follow;
      controller.abort();
      assert.ok(seen.some((type) => type.includes('exit')), `events seen: ${seen.join(', ')}`);
    });

    it('takes snapshots, restores and forks them', async (t) => {
      if (!has('snapshot.filesystem')) return t.skip(`${tier} lacks snapshot.filesystem`);
      const sandbox = await create();
      await sandbox.files.write('/workspace/state.txt', 'kept\n');
      const snap = await sandbox.snapshots.create();
      assert.equal(snap.sandboxId, sandbox.id);
      assert.ok((await sandbox.snapshots.list()).some((s) => s.id === snap.id));
      assert.equal((await Snapshots.get(snap.id, conn)).id, snap.id);
      const restored = await Sandbox.fromSnapshot(snap.id, { ...conn, timeoutMs: 120_000 });
      created.push(restored);
      assert.notEqual(restored.id, sandbox.id);
      assert.ok(restored.accessToken);
      assert.equal(await restored.files.read('/workspace/state.txt'), 'kept\n');
      const forks = await Snapshots.fork(snap.id, 2, { ...conn, timeoutMs: 120_000 });
      created.push(...forks);
      assert.equal(forks.length, 2);
      for (const fork of forks) assert.equal(await fork.files.read('/workspace/state.txt'), 'kept\n');
      await Snapshots.delete(snap.id, conn);
      await assert.rejects(Snapshots.get(snap.id, conn), expectCode('snapshot_not_found', NotFoundError));
      await assert.rejects(Sandbox.fromSnapshot(snap.id, conn), expectCode('snapshot_not_found', NotFoundError));
    });

    it('lists sandboxes by state and metadata, page by page', async () => {
      const a = await create({ metadata: { group: 'list-test', n: '1' } });
      const b = await create({ metadata: { group: 'list-test', n: '2' } });
      await create({ metadata: { group: 'other' } });
      const page = await Sandbox.list({ ...conn, metadata: { group: 'list-test' }, limit: 1 });
      assert.equal(page.items.length, 1);
      assert.ok(page.nextCursor);
      const all = [];
      for await (const info of Sandbox.listAll({ ...conn, metadata: { group: 'list-test' }, state: 'running', limit: 1 })) all.push(info.id);
      assert.deepEqual(all.sort(), [a.id, b.id].sort());
    });

    it('accepts the per-sandbox access token instead of the API key, for its own sandbox only', async () => {
      const mine = await create();
      const other = await create();
      const viaToken = await Sandbox.connect(mine.id, { apiUrl: server.url, apiKey: '', accessToken: mine.accessToken! });
      assert.equal((await viaToken.commands.run('echo token')).stdout, 'token\n');
      await assert.rejects(Sandbox.connect(other.id, { apiUrl: server.url, apiKey: '', accessToken: mine.accessToken! }), expectCode('forbidden'));
    });

    it('maps every error path to its documented code', async () => {
      await assert.rejects(Sandbox.connect('sbxdoesnotexist0000', conn), expectCode('sandbox_not_found', NotFoundError));
      await assert.rejects(Sandbox.destroy('sbxdoesnotexist0000', conn), expectCode('sandbox_not_found', NotFoundError));
      await assert.rejects(Sandbox.create({ ...conn, resources: { memoryMib: -5 } }), expectCode('bad_request'));
      await assert.rejects(Sandbox.create({ ...conn, backend: 'no-such-backend' }), expectCode('bad_request'));
      await assert.rejects(Sandbox.list({ ...conn, state: 'sleeping' as never }), expectCode('bad_request'));
      await assert.rejects(Sandbox.list({ apiUrl: server.url, apiKey: 'hutch_wrong' }), expectCode('unauthorized', AuthenticationError));
      await assert.rejects(Sandbox.list({ apiUrl: server.url, apiKey: '' }), expectCode('unauthorized', AuthenticationError));
      const sandbox = await create();
      await assert.rejects(sandbox.commands.run('echo x', { timeoutMs: -1 }), expectCode('bad_request'));
    });

    it('returns the same sandbox for a repeated idempotency key', async () => {
      const key = `e2e-${Date.now()}-${tier}`;
      const first = await create({ idempotencyKey: key });
      const second = await create({ idempotencyKey: key });
      assert.equal(second.id, first.id);
    });

    it('runs the README example as written', async () => {
      const saved = { url: process.env.HUTCH_API_URL, key: process.env.HUTCH_API_KEY, log: console.log };
      const logged: unknown[][] = [];
      process.env.HUTCH_API_URL = server.url;
      process.env.HUTCH_API_KEY = server.apiKey;
      console.log = (...args: unknown[]) => void logged.push(args);
      try {
        await readmeExample();
      } finally {
        console.log = saved.log;
        restoreEnv('HUTCH_API_URL', saved.url);
        restoreEnv('HUTCH_API_KEY', saved.key);
      }
      assert.deepEqual(logged, [['hello from the host\ndone\n', 0], ['streamed\n'], ['exit', 0]]);
    });
  });
}

describe('SDK end to end: admission', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ backend: 'fake', limits: { maxSandboxes: 1 } });
  });
  after(async () => server?.close());

  it('rejects a create beyond capacity with capacity_rejected', async () => {
    const conn = { apiUrl: server.url, apiKey: server.apiKey };
    const first = await Sandbox.create(conn);
    try {
      await assert.rejects(Sandbox.create(conn), expectCode('capacity_rejected', CapacityRejectedError));
    } finally {
      await first.destroy();
    }
    const again = await Sandbox.create(conn);
    await again.destroy();
  });
});
