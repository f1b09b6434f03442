/**
 * `hutch serve` end to end on the real tiers, as a user runs it: the default (process tier) and
 * `--backend container`, each driven through @hutch/sdk from the `base` template: python3, sudo,
 * git as user `user` in /home/user, files, and a session; on the container and microVM tiers also
 * the port proxy (E2B's `E2b-Sandbox-Id`/`E2b-Sandbox-Port` headers and `Host: <port>-<id>.<domain>`)
 * to a service bound to the sandbox's loopback (the microVM tier with the explicit TCG opt-in).
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { Sandbox } from '@hutch/sdk';
import { createMicrovmBackend } from '../../src/backends/microvm/index.js';
import { containerSkipReason } from '../container/helpers.js';
import { processTierUnavailable } from './harness.js';
import { startServe } from './serve-process.js';


async function withServer(backend: string, work: (connection: { apiUrl: string; apiKey: string }) => Promise<void>, extraEnv: Record<string, string> = {}): Promise<void> {
  const dataDir = await mkdtemp('/var/tmp/hutch-serve-e2e-');
  await chmod(dataDir, 0o711);
  const apiKey = 'hutch_' + 'cd'.repeat(32);
  try {
    const server = await startServe({ dataDir, apiKey, env: extraEnv, ...(backend === 'default' ? {} : { backend }) });
    try {
      await work({ apiUrl: server.apiUrl, apiKey });
    } finally {
      await server.stop();
    }
  } finally {
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

/** GET `path` from the server with an explicit Host header (fetch does not let a caller set Host). */
function getWithHost(apiUrl: string, path: string, host: string): Promise<{ status: number; body: string }> {
  const url = new URL(apiUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

/** A python3 http.server on the sandbox's loopback, reached through the server's port proxy both ways. */
async function exercisePortProxy(connection: { apiUrl: string; apiKey: string }): Promise<void> {
  const sandbox = await Sandbox.create({ ...connection, timeoutMs: 120_000 });
  try {
    await sandbox.files.write('/home/user/site/hello.txt', 'served from the sandbox\n');
    let listening!: () => void;
    const ready = new Promise<void>((resolve) => (listening = resolve));
    const server = await sandbox.commands.run('python3 -u -m http.server 8000 --bind 127.0.0.1 --directory /home/user/site', {
      background: true,
      onStdout: (text) => text.includes('Serving HTTP') && listening(),
    });
    await ready;
    const byHeaders = await fetch(`${connection.apiUrl}/hello.txt`, { headers: { 'E2b-Sandbox-Id': sandbox.id, 'E2b-Sandbox-Port': '8000' } });
    assert.equal(byHeaders.status, 200);
    assert.equal(await byHeaders.text(), 'served from the sandbox\n');
    assert.deepEqual(await getWithHost(connection.apiUrl, '/hello.txt', `8000-${sandbox.id}.localhost`), { status: 200, body: 'served from the sandbox\n' });
    const closed = await fetch(`${connection.apiUrl}/`, { headers: { 'E2b-Sandbox-Id': sandbox.id, 'E2b-Sandbox-Port': '8001' } });
    assert.equal(closed.status, 502);
    assert.equal(((await closed.json()) as { message: string }).message, 'The sandbox is running but port is not open');
    await server.kill();
  } finally {
    await sandbox.destroy();
  }
}

/** Why the microVM tier cannot run here under TCG, or undefined. */
async function microvmSkipReason(): Promise<string | undefined> {
  const dataDir = await mkdtemp('/var/tmp/hutch-serve-e2e-probe-');
  try {
    const health = (await createMicrovmBackend({ dataDir, accel: 'tcg' }).capabilities()).health;
    return health.status === 'unsupported_host' ? `microvm backend unsupported here: missing ${health.missing.join(', ')}` : undefined;
  } finally {
    await rm(dataDir, { recursive: true, force: true });
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

  it('proxies a port of a container sandbox (E2B headers and Host routing)', async (t) => {
    const reason = await containerSkipReason();
    if (reason) return t.skip(reason);
    await withServer('container', exercisePortProxy);
  });

  it('proxies a port of a microVM sandbox (E2B headers and Host routing, TCG opt-in)', async (t) => {
    const reason = await microvmSkipReason();
    if (reason) return t.skip(reason);
    await withServer('microvm', exercisePortProxy, { HUTCH_MICROVM_ACCEL: 'tcg' });
  });
});
