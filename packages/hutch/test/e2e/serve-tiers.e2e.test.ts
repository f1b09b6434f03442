/**
 * `hutch serve` end to end on the real tiers, as a user runs it: the default (process tier) and
 * `--backend container`, each driven through @hutch/sdk from the `base` template: python3, sudo,
 * git as user `user` in /home/user, files, and a session.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Sandbox } from '@hutch/sdk';
import { containerSkipReason } from '../container/helpers.js';
import { processTierUnavailable } from './harness.js';

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

async function withServer(backend: string, work: (connection: { apiUrl: string; apiKey: string }) => Promise<void>): Promise<void> {
  const dataDir = await mkdtemp('/var/tmp/hutch-serve-e2e-');
  await chmod(dataDir, 0o711);
  const apiKey = 'hutch_' + 'cd'.repeat(32);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HUTCH_'))) as Record<string, string>;
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', '--data-dir', dataDir, ...(backend === 'default' ? [] : ['--backend', backend])], {
    env: { ...env, HUTCH_API_KEY: apiKey },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((done) => child.once('close', (code) => done(code)));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  try {
    const apiUrl = await new Promise<string>((done, fail) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const match = /listening on (http:\/\/\S+)/.exec(out);
        if (match) done(match[1]!);
      });
      child.once('close', (code) => fail(new Error(`serve exited (${code}) before listening: ${out} ${stderr}`)));
    });
    await work({ apiUrl, apiKey });
  } finally {
    child.kill('SIGTERM');
    await exited;
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function exerciseBase(connection: { apiUrl: string; apiKey: string }, options: { template?: string } = {}): Promise<void> {
  const sandbox = await Sandbox.create({ ...connection, ...options, timeoutMs: 120_000 });
  try {
    assert.equal((await sandbox.commands.run("python3 -c 'print(1+1)'")).stdout, '2\n');
    assert.equal((await sandbox.commands.run('sudo whoami')).stdout, 'root\n');
    assert.match((await sandbox.commands.run('git --version')).stdout, /^git version/);
    assert.equal((await sandbox.commands.run('whoami; pwd')).stdout, 'user\n/home/user\n');
    await sandbox.files.write('/home/user/note.txt', 'from the sdk');
    assert.equal((await sandbox.commands.run('cat note.txt')).stdout, 'from the sdk');
    const session = await sandbox.sessions.create();
    await session.run('cd /tmp && export X=1');
    assert.equal((await session.run('echo $PWD $X')).stdout, '/tmp 1\n');
  } finally {
    await sandbox.destroy();
  }
}

describe('hutch serve on the real tiers', () => {
  it('serves the process tier by default (base template through the SDK)', async (t) => {
    const reason = await processTierUnavailable();
    if (reason) return t.skip(reason);
    await withServer('default', (connection) => exerciseBase(connection, { template: 'base' }));
  });

  it('serves --backend container (base by default) through the SDK', async (t) => {
    const reason = await containerSkipReason();
    if (reason) return t.skip(reason);
    await withServer('container', (connection) => exerciseBase(connection));
  });
});
