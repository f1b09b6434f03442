/**
 * End to end through the `hutch` binary: spawns `node dist/src/cli/main.js …` with HUTCH_API_URL /
 * HUTCH_API_KEY pointing at a real server on 127.0.0.1, and checks stdout, stderr and exit codes
 * (exec exits with the command's code; errors print `error: … (<code>)` and exit 1; usage errors 2).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { processTierUnavailable, startTestServer, type TestServer, type TierName } from './harness.js';

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion. `env` replaces HUTCH_* from the parent environment. */
function hutch(args: string[], env: Record<string, string>, input?: string): Promise<CliResult> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HUTCH_'))) as Record<string, string>;
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...base, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.end(input ?? '');
  return new Promise((resolvePromise, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

const processSkip = await processTierUnavailable();

for (const tier of ['fake', 'process'] as TierName[]) {
  const skip = tier === 'process' ? processSkip : undefined;
  describe(`CLI end to end over the ${tier} backend`, { skip: skip ?? false }, () => {
    let server: TestServer;
    let env: Record<string, string>;
    let work: string;
    const run = (...args: string[]) => hutch(args, env);

    async function createSandbox(...flags: string[]): Promise<string> {
      const result = await run('create', '--timeout', '2m', ...flags);
      assert.equal(result.code, 0, result.stderr);
      return result.stdout.trim();
    }

    before(async () => {
      server = await startTestServer({ backend: tier });
      env = { HUTCH_API_URL: server.url, HUTCH_API_KEY: server.apiKey };
      work = await mkdtemp(join(tmpdir(), 'hutch-cli-e2e-'));
    });
    after(async () => {
      await server?.close();
      if (work) await rm(work, { recursive: true, force: true });
    });

    it('creates a sandbox, prints its id, and lists it as a table and as JSON', async () => {
      const id = await createSandbox('--metadata', 'suite=cli', '--env', 'A=1', '--memory', '256m', '--pids', '64');
      assert.match(id, /^sbx[a-z0-9]+$/);
      const table = await run('ls');
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^ID\s+STATE\s+BACKEND\s+TEMPLATE\s+AGE\s+RESOURCES/);
      assert.match(table.stdout, new RegExp(`${id}\\s+running\\s+${tier}`));
      const json = JSON.parse((await run('ls', '--json', '--state', 'running')).stdout) as Array<{ id: string; metadata: Record<string, string>; resources: { memoryMib?: number } }>;
      const mine = json.find((s) => s.id === id);
      assert.deepEqual(mine?.metadata, { suite: 'cli' });
      assert.equal(mine?.resources.memoryMib, 256);
      const created = JSON.parse((await run('create', '--json')).stdout) as { id: string; accessToken: string; state: string };
      assert.equal(created.state, 'running');
      assert.ok(created.accessToken);
      assert.equal((await run('rm', id, created.id)).stdout, `${id}\n${created.id}\n`);
    });

    it('exec streams output and exits with the command exit code', async () => {
      const id = await createSandbox('--env', 'GREETING=hello');
      const hi = await run('exec', id, '--', 'echo', 'hi');
      assert.deepEqual([hi.code, hi.stdout, hi.stderr], [0, 'hi\n', '']);
      const failing = await run('exec', id, '--', 'echo out; echo err >&2; exit 7');
      assert.deepEqual([failing.code, failing.stdout, failing.stderr], [7, 'out\n', 'err\n']);
      assert.equal((await run('exec', id, '--', 'printenv GREETING')).stdout, 'hello\n');
      assert.equal((await run('exec', '--env', 'X=42', id, '--', 'printenv X')).stdout, '42\n');
      assert.equal((await run('exec', '--cwd', '/tmp', id, '--', 'pwd')).stdout, '/tmp\n');
      const piped = await hutch(['exec', '-i', id, '--', 'cat'], env, 'piped through\n');
      assert.deepEqual([piped.code, piped.stdout], [0, 'piped through\n'], piped.stderr);
      const slow = await run('exec', '--timeout', '300ms', id, '--', 'sleep 30');
      assert.equal(slow.code, 124);
      assert.match(slow.stderr, /\(process_timeout\)/);
      const ps = JSON.parse((await run('ps', id, '--json')).stdout) as Array<{ pid: number }>;
      assert.ok(Array.isArray(ps));
      assert.match((await run('ps', id)).stdout, /^PID\s+STATUS/);
      await run('rm', id);
    });

    it('copies files between the host and a sandbox, streamed', async () => {
      const id = await createSandbox();
      const local = join(work, `upload-${tier}.txt`);
      await writeFile(local, 'from the host\n');
      const up = await run('cp', local, `${id}:/tmp/up.txt`);
      assert.equal(up.code, 0, up.stderr);
      assert.equal((await run('exec', id, '--', 'cat /tmp/up.txt')).stdout, 'from the host\n');
      const back = join(work, `download-${tier}.txt`);
      const down = await run('cp', `${id}:/tmp/up.txt`, back);
      assert.equal(down.code, 0, down.stderr);
      assert.equal(await readFile(back, 'utf8'), 'from the host\n');
      const toStdout = await run('cp', `${id}:/tmp/up.txt`, '-');
      assert.equal(toStdout.stdout, 'from the host\n');
      const fromStdin = await hutch(['cp', '-', `${id}:/tmp/stdin.txt`], env, 'piped in\n');
      assert.equal(fromStdin.code, 0, fromStdin.stderr);
      assert.equal((await run('exec', id, '--', 'cat /tmp/stdin.txt')).stdout, 'piped in\n');
      const missing = await run('cp', `${id}:/tmp/nope.txt`, join(work, 'nope'));
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /\(file_not_found\)/);
      const bothHost = await run('cp', local, join(work, 'x'));
      assert.equal(bothHost.code, 2);
      await run('rm', id);
    });

    it('pauses and resumes, shows events and logs, snapshots and restores', async (t) => {
      const id = await createSandbox();
      const paused = await run('pause', id);
      if (paused.code !== 0 && /capability_missing/.test(paused.stderr)) t.diagnostic(`${tier} cannot pause`);
      else {
        assert.equal(paused.stdout, `${id} paused\n`, paused.stderr);
        assert.equal((await run('resume', id)).stdout, `${id} running\n`);
        const again = await run('resume', id);
        assert.equal(again.code, 1);
        assert.match(again.stderr, /^error: .*\(invalid_transition\)\n$/);
      }
      await run('exec', id, '--', 'true');
      const events = JSON.parse((await run('events', id, '--json')).stdout) as Array<{ type: string; seq: number }>;
      assert.ok(events.length > 0);
      const logs = await run('logs', id);
      assert.equal(logs.code, 0);
      assert.match(logs.stdout, /#\d+ \S+/);

      const snap = await run('snapshot', id);
      if (snap.code !== 0 && /capability_missing/.test(snap.stderr)) return t.skip(`${tier} cannot snapshot`);
      assert.equal(snap.code, 0, snap.stderr);
      const snapId = snap.stdout.trim();
      const listed = JSON.parse((await run('snapshot', 'ls', '--json', '--sandbox', id)).stdout) as Array<{ id: string }>;
      assert.ok(listed.some((s) => s.id === snapId));
      assert.match((await run('snapshot', 'ls')).stdout, /^ID\s+SANDBOX\s+KIND/);
      const restored = await run('snapshot', 'restore', snapId);
      assert.equal(restored.code, 0, restored.stderr);
      assert.match(restored.stdout.trim(), /^sbx/);
      assert.equal((await run('snapshot', 'rm', snapId)).stdout, `${snapId}\n`);
      const gone = await run('snapshot', 'rm', snapId);
      assert.match(gone.stderr, /\(snapshot_not_found\)/);
      await run('rm', id, restored.stdout.trim());
    });

    it('reports errors with their code, and usage errors with exit 2', async () => {
      const unknown = await run('exec', 'sbxdoesnotexist0000', '--', 'true');
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /^error: .*\(sandbox_not_found\)\n$/);
      const rmUnknown = await run('rm', 'sbxdoesnotexist0000');
      assert.equal(rmUnknown.code, 1);
      assert.match(rmUnknown.stderr, /\(sandbox_not_found\)/);
      const badKey = await hutch(['ls'], { ...env, HUTCH_API_KEY: 'hutch_wrong' });
      assert.equal(badKey.code, 1);
      assert.match(badKey.stderr, /\(unauthorized\)/);
      const badPayload = await run('create', '--backend', 'no-such-backend');
      assert.equal(badPayload.code, 1);
      assert.match(badPayload.stderr, /\(bad_request\)/);
      const usage = await run('create', '--memory', 'lots');
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /invalid memory size/);
      assert.equal((await run('frobnicate')).code, 2);
      assert.equal((await run('exec')).code, 2);
      const help = await run('--help');
      assert.equal(help.code, 0);
      assert.match(help.stdout, /Usage: hutch/);
    });

    it('opens a PTY shell over the WebSocket and exits with its code', async () => {
      const id = await createSandbox();
      const result = await run('shell', id, 'echo pty-ok; exit 3');
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stdout, /pty-ok/);
      await run('rm', id);
    });

    it('replays the output of a background process with logs <id> <pid>', async () => {
      const id = await createSandbox();
      const started = await run('exec', id, '--tag', 'job', '--', 'echo from-job');
      assert.equal(started.code, 0);
      const ps = JSON.parse((await run('ps', id, '--json')).stdout) as Array<{ pid: number; tag: string | null }>;
      const job = ps.find((p) => p.tag === 'job');
      assert.ok(job, 'ps lists the ended process with its tag');
      const logs = await run('logs', id, String(job.pid));
      assert.equal(logs.stdout, 'from-job\n', logs.stderr);
      assert.equal(logs.code, 0);
      await run('rm', id);
    });

    it('takes --url and --api-key over the environment', async () => {
      const viaFlags = await hutch(['--url', server.url, '--api-key', server.apiKey, 'ls', '-q'], {});
      assert.equal(viaFlags.code, 0, viaFlags.stderr);
    });
  });
}

describe('hutch serve', () => {
  it('serves the fake backend on a free port until SIGTERM', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'hutch-cli-serve-'));
    const apiKey = 'hutch_' + 'ab'.repeat(32);
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HUTCH_'))) as Record<string, string>;
    const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', '--backend', 'fake', '--data-dir', dataDir], { env: { ...base, HUTCH_API_KEY: apiKey, HUTCH_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolvePromise) => child.once('close', (code) => resolvePromise(code)));
    try {
      let out = '';
      const url = await new Promise<string>((resolvePromise, reject) => {
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          const match = /listening on (http:\/\/\S+)/.exec(out);
          if (match) resolvePromise(match[1]!);
        });
        child.once('close', (code) => reject(new Error(`serve exited (${code}) before listening: ${out}`)));
      });
      const env = { HUTCH_API_URL: url, HUTCH_API_KEY: apiKey };
      const id = (await hutch(['create'], env)).stdout.trim();
      assert.match(id, /^sbx/);
      const exec = await hutch(['exec', id, '--', 'echo served'], env);
      assert.equal(exec.stdout, 'served\n');
      assert.equal((await hutch(['rm', id], env)).code, 0);
    } finally {
      child.kill('SIGTERM');
      await exited;
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('CLI without a server', () => {
  it('says how to start one when the server is unreachable', async () => {
    const result = await hutch(['ls'], { HUTCH_API_URL: 'http://127.0.0.1:9' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^error: Cannot reach the Hutch server at http:\/\/127\.0\.0\.1:9 .*\(connection_failed\)\n/);
    assert.match(result.stderr, /hutch serve/);
    assert.match(result.stderr, /scripts\/run\.sh/);
  });
});
