/**
 * Network policy on the process tier, end to end through the engine, against loopback-only test
 * servers in a network namespace of our own (helpers.ts): `none`, a domain allowlist, deny beats
 * allow, audit mode, the host guard, secrets injected at the edge (HTTP and HTTPS) that never
 * enter the sandbox, live policy changes, and the egress byte counter.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createProcessBackend } from '../../src/backends/process/index.js';
import type { NetworkPolicy } from '../../src/domain/sandbox.js';
import type { EngineLogger } from '../../src/engine/context.js';
import { Engine } from '../../src/engine/engine.js';
import { BackendRegistry } from '../../src/port/registry.js';
import { hostSkipReason } from '../process/helpers.js';
import { netSkipReason, setupTestNet, teardownTestNet, type TestNet } from './helpers.js';

const skip = (await hostSkipReason()) ?? (await netSkipReason());
if (skip) console.log(`# skipping egress host tests: ${skip}`);

const SECRET = `hutch-sekret-${Math.random().toString(36).slice(2)}`;

describe('network policy on the process tier (host, test namespace)', { skip }, () => {
  let net: TestNet;
  let dataDir: string;
  let engine: Engine;
  let hostService: Server;
  let hostPort: number;
  const logLines: string[] = [];
  const created: string[] = [];

  const logger: EngineLogger = {
    info: (o, m) => logLines.push(JSON.stringify([o, m])),
    warn: (o, m) => logLines.push(JSON.stringify([o, m])),
    error: (o, m) => logLines.push(JSON.stringify([o, m])),
  };

  before(async () => {
    net = await setupTestNet();
    hostService = createServer((s) => s.end('host-secret\n'));
    await new Promise<void>((resolve) => hostService.listen(0, '0.0.0.0', resolve));
    hostPort = (hostService.address() as { port: number }).port;
    dataDir = mkdtempSync('/var/tmp/hutch-egress-');
    chmodSync(dataDir, 0o711);
    const backend = createProcessBackend({ dataDir: join(dataDir, 'process'), egress: { dnsServers: [net.allowedIp], upstreamCaFile: net.caFile } });
    engine = await Engine.open({ dataDir, registry: new BackendRegistry().register(backend), logger });
  });

  after(async () => {
    for (const id of created) await engine.lifecycle.destroy(id).catch(() => undefined);
    await engine?.close();
    hostService?.close();
    if (net) teardownTestNet(net);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function sandbox(network: NetworkPolicy, secrets?: Array<{ name: string; value: string }>): Promise<string> {
    const info = await engine.lifecycle.create({ network, ...(secrets ? { secrets } : {}) });
    created.push(info.id);
    return info.id;
  }

  async function sh(id: string, command: string): Promise<{ stdout: string; exitCode: number | null }> {
    const r = await engine.processes.run(id, { shell: command, timeoutMs: 20_000 });
    return { stdout: r.stdout, exitCode: r.exitCode };
  }

  const curl = (url: string, extra = '') => `curl -sS -m 5 ${extra} ${url} 2>&1; echo " rc=$?"`;

  it('none blocks everything: no route, no DNS', async () => {
    const id = await sandbox({ mode: 'none' });
    const r = await sh(id, `${curl(`http://${net.allowedIp}/`)}; ${curl('http://allowed.test/')}`);
    assert.doesNotMatch(r.stdout, /hello/);
    assert.equal((r.stdout.match(/rc=0/g) ?? []).length, 0, r.stdout);
  });

  it('a domain allowlist lets allowed.test through and blocks other.test and its bare IP', async () => {
    const id = await sandbox({ mode: 'rules', rules: [{ action: 'allow', domain: 'allowed.test' }] });
    const ok = await sh(id, curl('http://allowed.test/'));
    assert.match(ok.stdout, /hello allowed\.test over http/);
    const other = await sh(id, curl('http://other.test/'));
    assert.doesNotMatch(other.stdout, /hello/);
    const bare = await sh(id, curl(`http://${net.otherIp}/`));
    assert.doesNotMatch(bare.stdout, /hello/);
    // A Host header naming allowed.test on other.test's address is not attributable to it.
    const spoof = await sh(id, curl(`http://${net.otherIp}/`, '-H "Host: allowed.test"'));
    assert.doesNotMatch(spoof.stdout, /hello/);
    const log = await engine.network.decisions(id);
    assert.ok(log.some((d) => d.kind === 'connect' && d.host === 'allowed.test' && d.verdict === 'allow' && d.rule === 'rules[0]'));
    assert.ok(log.some((d) => d.kind === 'dns' && d.host === 'other.test' && d.verdict === 'deny'));
    assert.ok(log.some((d) => d.kind === 'connect' && d.ip === net.otherIp && d.verdict === 'deny' && d.rule === 'default'));
    const stats = await engine.stats(id);
    assert.ok(stats.networkEgressBytes > 0, `egress bytes ${stats.networkEgressBytes}`);
  });

  it('deny beats allow, as documented', async () => {
    const id = await sandbox({ mode: 'rules', rules: [{ action: 'allow', domain: '*.test' }, { action: 'deny', domain: 'other.test' }] });
    assert.match((await sh(id, curl('http://allowed.test/'))).stdout, /hello allowed\.test/);
    assert.doesNotMatch((await sh(id, curl('http://other.test/'))).stdout, /hello/);
    assert.ok((await engine.network.decisions(id)).some((d) => d.host === 'other.test' && d.verdict === 'deny' && d.rule === 'rules[1]'));
  });

  it('audit mode logs what would be blocked and lets it pass', async () => {
    const id = await sandbox({ mode: 'rules', audit: true, rules: [{ action: 'allow', domain: 'allowed.test' }] });
    assert.match((await sh(id, curl('http://other.test/'))).stdout, /hello other\.test/);
    const log = await engine.network.decisions(id);
    assert.ok(log.some((d) => d.kind === 'connect' && d.host === 'other.test' && d.verdict === 'audit' && d.rule === 'default'), JSON.stringify(log));
  });

  it("never reaches the host's own services, not even in internet mode or through a broad rule", async () => {
    const id = await sandbox({ mode: 'internet', audit: true, rules: [{ action: 'allow', cidr: '0.0.0.0/0' }] });
    const hostIps = Object.values(networkInterfaces()).flat().filter((a) => a && a.family === 'IPv4').map((a) => a!.address);
    const targets = [...new Set([...hostIps, '10.0.2.2', net.hostIp])];
    const r = await sh(id, targets.map((ip) => curl(`http://${ip}:${hostPort}/`)).join('; '));
    assert.doesNotMatch(r.stdout, /host-secret/);
    assert.equal((r.stdout.match(/rc=0/g) ?? []).length, 0, r.stdout);
    assert.ok((await engine.network.decisions(id)).some((d) => d.ip === net.hostIp && d.rule === 'host_guard' && d.verdict === 'deny'));
    // The upstream in the test namespace is not the host: internet mode reaches it.
    assert.match((await sh(id, curl(`http://${net.otherIp}/`))).stdout, /hello/);
  });

  it('injects a secret for allowed.test over HTTP and HTTPS; the value never enters the sandbox or the logs', async () => {
    const inject = [{ host: 'allowed.test', header: 'Authorization', value: 'Bearer {{secret:API_TOKEN}}' }];
    const id = await sandbox({ mode: 'rules', rules: [{ action: 'allow', domain: 'allowed.test' }], inject }, [{ name: 'API_TOKEN', value: SECRET }]);
    const before = net.requests.length;
    const r = await sh(id, `${curl('http://allowed.test/plain')}; ${curl('https://allowed.test/tls')}`);
    assert.match(r.stdout, /hello allowed\.test over http\n/);
    assert.match(r.stdout, /hello allowed\.test over https\n/);
    const got = net.requests.slice(before);
    assert.equal(got.find((q) => q.path === '/plain')?.headers.authorization, `Bearer ${SECRET}`);
    assert.equal(got.find((q) => q.path === '/tls')?.headers.authorization, `Bearer ${SECRET}`);
    const log = await engine.network.decisions(id);
    assert.ok(log.some((d) => d.host === 'allowed.test' && d.injected?.includes('API_TOKEN')));

    // Inside: env, every readable file we can think of, /proc of every process.
    const inside = await sh(id, `env; cat /proc/*/environ /proc/*/cmdline 2>/dev/null | tr '\\0' '\\n'; grep -rl "${SECRET.slice(0, 12)}" /etc /workspace /tmp /proc/*/environ 2>/dev/null; echo done`);
    assert.match(inside.stdout, /done/);
    const leaked = inside.stdout.split('\n').filter((l) => l.includes(SECRET) && !l.includes('grep -rl'));
    assert.deepEqual(leaked, []);
    // The sandbox trusts its CA, but never holds the key.
    const key = await sh(id, 'grep -l "PRIVATE KEY" /etc/ssl/certs/* 2>/dev/null; echo end');
    assert.equal(key.stdout.trim(), 'end');
    // Journal, events, logs, the API view.
    const everything = JSON.stringify([engine.journal({ sandboxId: id }), engine.events({ sandboxId: id }), logLines, engine.get(id), log]);
    assert.ok(!everything.includes(SECRET));
    // The store on disk (SQLite + WAL) never holds it either.
    for (const name of readdirSync(dataDir)) {
      const path = join(dataDir, name);
      if (statSync(path).isFile()) assert.ok(!readFileSync(path).includes(SECRET), `${name} holds the secret`);
    }
  });

  it('applies a policy change on a running sandbox to new connections', async () => {
    const id = await sandbox({ mode: 'none' });
    const started = performance.now();
    await engine.network.update(id, { mode: 'rules', rules: [{ action: 'allow', domain: 'allowed.test' }] });
    const enableMs = performance.now() - started;
    assert.match((await sh(id, curl('http://allowed.test/'))).stdout, /hello allowed\.test/);
    const t0 = performance.now();
    await engine.network.update(id, { mode: 'rules', rules: [{ action: 'allow', domain: 'allowed.test' }, { action: 'deny', domain: 'allowed.test' }] });
    const applyMs = performance.now() - t0;
    assert.doesNotMatch((await sh(id, curl('http://allowed.test/'))).stdout, /hello/);
    console.log(`# policy change: none -> rules (starts the egress path) ${enableMs.toFixed(1)} ms; rules -> deny applied in ${applyMs.toFixed(2)} ms`);
    assert.equal(engine.network.get(id).rules?.length, 2);
    assert.ok(engine.journal({ sandboxId: id }).some((j) => j.effect === 'network'));
  });
});
