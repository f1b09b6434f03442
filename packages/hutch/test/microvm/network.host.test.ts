/**
 * Network policy on the microVM tier (TCG opt-in), against the egress tests' servers in a network
 * namespace of our own (../network/helpers.ts), never the internet: the VM's user-mode NIC leads
 * only into the sandbox's egress proxy. Three VMs, to keep boots few: `rules` (allowlist, deny
 * beats allow, decision log, byte counter, secrets injected over HTTP and HTTPS, live policy swaps),
 * `internet` (by name and by IP; the host's loopback and addresses stay unreachable) and `none`
 * (no network device at all; it cannot be given network later); then the internet VM's network
 * across a memory snapshot restore, stop/start (cold boot) and a server restart (adopt).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { after, before, describe, it } from 'node:test';
import type { NetworkPolicy } from '../../src/domain/sandbox.js';
import type { IsolationBackend } from '../../src/port/isolation-backend.js';
import { netSkipReason, setupTestNet, teardownTestNet, type TestNet } from '../network/helpers.js';
import { microvmTestSetup } from './helpers.js';

const setup = await microvmTestSetup('hutch-microvm-net-');
after(() => setup.cleanup());
const skip = setup.skipReason ?? (await netSkipReason());
if (skip) console.log(`# skipping microvm network tests: ${skip}`);

const SECRET = `hutch-sekret-${Math.random().toString(36).slice(2)}`;
const tag = Date.now().toString(36);

describe('microvm network policy (tcg, test namespace)', { skip: skip ?? false }, () => {
  let net: TestNet;
  let b: IsolationBackend;
  let loopService: Server;
  let loopPort: number;
  const ids = { rules: `sbx_netr_${tag}`, internet: `sbx_neti_${tag}`, none: `sbx_netn_${tag}`, fork: `sbx_netf_${tag}` };
  const egress = () => ({ egress: { dnsServers: [net.allowedIp], upstreamCaFile: net.caFile } });

  before(async () => {
    net = await setupTestNet();
    // A service on the host: loopback and every host address, which no VM may reach.
    loopService = createServer((s) => s.end('host-secret\n'));
    await new Promise<void>((resolve) => loopService.listen(0, '0.0.0.0', resolve));
    loopPort = (loopService.address() as { port: number }).port;
    b = setup.create(egress());
  });

  after(async () => {
    for (const id of Object.values(ids)) await b?.destroy(id).catch(() => b.reclaim(id, {})).catch(() => undefined);
    await b?.close();
    loopService?.close();
    if (net) teardownTestNet(net);
  });

  async function vm(id: string, network: NetworkPolicy, secrets?: Array<{ name: string; value: string }>): Promise<void> {
    await b.create({ id, template: 'base', rootfsPath: setup.rootfsPath, resources: {}, env: {}, network, ...(secrets ? { secrets } : {}) });
    await b.start(id);
  }

  async function sh(id: string, command: string): Promise<string> {
    const h = await b.exec(id, { shell: command, timeoutMs: 60_000 });
    let out = '';
    for await (const c of h.output()) out += Buffer.from(c.data).toString();
    await h.wait();
    return out;
  }

  const curl = (url: string, extra = '') => `curl -sS -m 15 ${extra} ${url} 2>&1; echo " rc=$?"`;

  it('reports network.internet and network.egress_rules', async () => {
    const caps = (await b.capabilities()).capabilities;
    assert.ok(caps.includes('network.internet') && caps.includes('network.egress_rules'), caps.join(','));
  });

  it('rules: allowed.test passes by name; other.test (denied) and an unlisted IP do not; all logged and counted', async () => {
    const inject = [{ host: 'allowed.test', header: 'Authorization', value: 'Bearer {{secret:API_TOKEN}}' }];
    const rules: NetworkPolicy = { mode: 'rules', rules: [{ action: 'allow', domain: '*.test' }, { action: 'deny', domain: 'other.test' }], inject };
    await vm(ids.rules, rules, [{ name: 'API_TOKEN', value: SECRET }]);
    const out = await sh(ids.rules, `cat /etc/resolv.conf; ${curl('http://allowed.test/')}; ${curl('http://other.test/')}; ${curl(`http://${net.otherIp}/`)}`);
    assert.match(out, /nameserver 10\.0\.2\.3/);
    assert.match(out, /hello allowed\.test over http\n rc=0/);
    assert.equal((out.match(/rc=0/g) ?? []).length, 1, out);
    const log = await b.networkDecisions!(ids.rules);
    assert.ok(log.some((d) => d.kind === 'connect' && d.host === 'allowed.test' && d.verdict === 'allow' && d.rule === 'rules[0]'), JSON.stringify(log));
    assert.ok(log.some((d) => d.kind === 'dns' && d.host === 'other.test' && d.verdict === 'deny' && d.rule === 'rules[1]'));
    assert.ok(log.some((d) => d.kind === 'connect' && d.ip === net.otherIp && d.verdict === 'deny' && d.rule === 'default'));
    assert.ok((await b.stats(ids.rules)).networkEgressBytes > 0);
  });

  it('injects a secret over HTTP and HTTPS at the edge; the value never enters the VM', async () => {
    const before = net.requests.length;
    const out = await sh(ids.rules, `${curl('http://allowed.test/plain')}; ${curl('https://allowed.test/tls')}`);
    assert.match(out, /hello allowed\.test over http\n/);
    assert.match(out, /hello allowed\.test over https\n/);
    const got = net.requests.slice(before);
    assert.equal(got.find((q) => q.path === '/plain')?.headers.authorization, `Bearer ${SECRET}`);
    assert.equal(got.find((q) => q.path === '/tls')?.headers.authorization, `Bearer ${SECRET}`);
    assert.ok((await b.networkDecisions!(ids.rules)).some((d) => d.host === 'allowed.test' && d.injected?.includes('API_TOKEN')));
    const inside = await sh(ids.rules, `env; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'; grep -rl "${SECRET.slice(0, 12)}" /etc /workspace /tmp /run 2>/dev/null; echo done`);
    assert.match(inside, /done/);
    assert.ok(!inside.includes(SECRET.slice(0, 12)), 'the secret is nowhere in the VM');
  });

  it('swaps the policy of a running VM: rules → other rules → internet → none', async () => {
    await b.updateNetwork!(ids.rules, { mode: 'rules', rules: [{ action: 'allow', domain: 'other.test' }] });
    let out = await sh(ids.rules, `${curl('http://other.test/')}; ${curl('http://allowed.test/')}`);
    assert.match(out, /hello other\.test over http\n rc=0/);
    assert.equal((out.match(/rc=0/g) ?? []).length, 1, out);
    await b.updateNetwork!(ids.rules, { mode: 'internet' });
    out = await sh(ids.rules, curl(`http://${net.allowedIp}/`));
    assert.match(out, /hello .* rc=0/s);
    await b.updateNetwork!(ids.rules, { mode: 'none' });
    out = await sh(ids.rules, `${curl(`http://${net.allowedIp}/`)}; ${curl('http://allowed.test/')}`);
    assert.equal((out.match(/rc=0/g) ?? []).length, 0, out);
    assert.ok((await b.networkDecisions!(ids.rules)).some((d) => d.rule === 'mode:none' && d.verdict === 'deny'));
  });

  it('internet: reaches the test servers by name and by IP, never the host (10.0.2.2 = host loopback, host addresses)', async () => {
    // Even rules that would open a host address (a /32) never open the host's loopback here.
    await vm(ids.internet, { mode: 'internet', audit: true, rules: [{ action: 'allow', cidr: '0.0.0.0/0' }, { action: 'allow', cidr: '127.0.0.1/32' }] });
    const out = await sh(ids.internet, `${curl('http://allowed.test/')}; ${curl(`http://${net.otherIp}/`)}`);
    assert.match(out, /hello allowed\.test over http\n rc=0/);
    assert.match(out, /hello 10\.253\.\d+\.3 over http\n rc=0/);
    const hostIps = Object.values(networkInterfaces()).flat().filter((a) => a && a.family === 'IPv4').map((a) => a!.address);
    const targets = [...new Set(['10.0.2.2', '10.0.2.7', ...hostIps, net.hostIp])];
    const host = await sh(ids.internet, targets.map((ip) => curl(`http://${ip}:${loopPort}/`, '-m 5')).join('; '));
    assert.doesNotMatch(host, /host-secret/);
    assert.equal((host.match(/rc=0/g) ?? []).length, 0, host);
    const log = await b.networkDecisions!(ids.internet);
    assert.ok(log.some((d) => d.ip === '127.0.0.1' && d.port === loopPort && d.rule === 'host_guard' && d.verdict === 'deny'), JSON.stringify(log));
  });

  it('none: no network device at all, and no network later', async () => {
    await vm(ids.none, { mode: 'none' });
    const out = await sh(ids.none, `ls /sys/class/net; ${curl(`http://${net.allowedIp}/`, '-m 3')}`);
    assert.deepEqual(out.split('\n').filter((l) => /^[a-z0-9]+$/.test(l)), ['lo']);
    assert.doesNotMatch(out, /rc=0/);
    await assert.rejects(b.updateNetwork!(ids.none, { mode: 'rules', rules: [{ action: 'allow', domain: 'allowed.test' }] }), { code: 'capability_missing' });
    await b.updateNetwork!(ids.none, { mode: 'none' });
  });

  it('keeps the network across snapshot/restore and stop/start; a none snapshot cannot come back with network', async () => {
    const snap = await b.snapshot(ids.internet, { snapshotId: `snap_neti_${tag}`, kind: 'continuation' });
    const none = await b.snapshot(ids.none, { snapshotId: `snap_netn_${tag}`, kind: 'continuation' });
    try {
      const spec = (id: string, network: NetworkPolicy) => ({ id, template: 'base', rootfsPath: setup.rootfsPath, resources: {}, env: {}, network });
      await assert.rejects(b.restore(none, spec(`sbx_netx_${tag}`, { mode: 'internet' })), { code: 'capability_missing' });
      await b.restore(snap, spec(ids.fork, { mode: 'rules', rules: [{ action: 'allow', domain: 'allowed.test' }] }));
      await b.start(ids.fork);
      let out = await sh(ids.fork, `${curl('http://allowed.test/')}; ${curl(`http://${net.otherIp}/`)}`);
      assert.match(out, /hello allowed\.test over http\n rc=0/);
      assert.equal((out.match(/rc=0/g) ?? []).length, 1, out);
      await b.stop(ids.fork);
      await b.start(ids.fork);
      out = await sh(ids.fork, curl('http://allowed.test/'));
      assert.match(out, /hello allowed\.test over http\n rc=0/);
    } finally {
      await b.deleteSnapshot(snap);
      await b.deleteSnapshot(none);
    }
  });

  it('a restarted server adopts a VM and its egress proxy, on the resolver port QEMU was given', async () => {
    await b.close();
    b = setup.create(egress());
    for (const id of Object.values(ids)) assert.equal((await b.adopt(id, { state: 'running' })).status, 'adopted', id);
    const out = await sh(ids.internet, curl('http://allowed.test/'));
    assert.match(out, /hello allowed\.test over http\n rc=0/);
    assert.ok((await b.networkDecisions!(ids.internet)).some((d) => d.kind === 'dns' && d.host === 'allowed.test' && d.verdict === 'allow'));
  });
});
