/**
 * Persistent shell sessions on the process tier, through the engine: cwd, env and background jobs
 * persist across commands; output streams; destroying a session kills its process group.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createProcessBackend } from '../../src/backends/process/index.js';
import { Engine } from '../../src/engine/engine.js';
import { BackendRegistry } from '../../src/port/registry.js';
import { hostSkipReason } from './helpers.js';

const skip = await hostSkipReason();

describe('shell sessions on the process tier (host)', { skip }, () => {
  let dataDir: string;
  let engine: Engine;
  let id: string;
  before(async () => {
    dataDir = mkdtempSync('/var/tmp/hutch-sessions-');
    chmodSync(dataDir, 0o711);
    engine = await Engine.open({ dataDir, registry: new BackendRegistry().register(createProcessBackend({ dataDir: join(dataDir, 'process') })) });
    id = (await engine.lifecycle.create({ env: { SANDBOX_LEVEL: 'yes' } })).id;
  });
  after(async () => {
    await engine.lifecycle.destroy(id);
    await engine.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps cwd, env and background jobs across commands, with exit codes as results', async () => {
    const session = await engine.sessions.create(id, { cwd: '/workspace' });
    assert.equal((await engine.sessions.exec(id, session.id, 'mkdir -p deep/er && cd deep/er && export FOO=bar')).exitCode, 0);
    assert.equal((await engine.sessions.exec(id, session.id, 'pwd; echo $FOO $SANDBOX_LEVEL')).stdout, '/workspace/deep/er\nbar yes\n');
    await engine.sessions.exec(id, session.id, 'sleep 300 & echo $! > /tmp/job.pid');
    assert.match((await engine.sessions.exec(id, session.id, 'jobs')).stdout, /sleep 300/);
    const failed = await engine.sessions.exec(id, session.id, 'echo partial; echo oops >&2; false');
    assert.deepEqual([failed.exitCode, failed.stdout, failed.stderr], [1, 'partial\n', 'oops\n']);
    assert.equal((await engine.sessions.exec(id, session.id, 'printf no-newline')).stdout, 'no-newline');
    const frames = [];
    for await (const frame of engine.sessions.stream(id, session.id, 'for i in 1 2 3; do echo $i; sleep 0.05; done')) frames.push(frame);
    assert.deepEqual(frames.at(-1), { type: 'exit', exitCode: 0 });
    assert.equal(frames.filter((f) => f.type === 'output').map((f) => Buffer.from((f as { data: Uint8Array }).data).toString()).join(''), '1\n2\n3\n');
    assert.deepEqual(engine.sessions.list(id).map((s) => s.id), [session.id]);

    const jobPid = (await engine.processes.run(id, { shell: 'cat /tmp/job.pid' })).stdout.trim();
    await engine.sessions.destroy(id, session.id);
    const alive = await engine.processes.run(id, { shell: `kill -0 ${jobPid} 2>/dev/null && echo alive || echo gone` });
    assert.equal(alive.stdout, 'gone\n', 'destroying the session killed its background job');
    assert.throws(() => engine.sessions.get(id, session.id), { code: 'session_not_found' });
  });

  it('ends a command past its timeout with process_timeout and drops the session', async () => {
    const session = await engine.sessions.create(id);
    await assert.rejects(engine.sessions.exec(id, session.id, 'sleep 30', { timeoutMs: 300 }), { code: 'process_timeout' });
    assert.throws(() => engine.sessions.get(id, session.id), { code: 'session_not_found' });
  });
});
