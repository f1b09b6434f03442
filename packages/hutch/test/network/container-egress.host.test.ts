/**
 * Network policy on the container tier: the same slirp4netns + shim + egress proxy path as the
 * process tier, against the test namespace's servers. Plain HTTP goes through bash's /dev/tcp (the
 * request is written by hand); HTTPS through the template's curl and Python, trusting only the
 * system bundle, which a sandbox with secrets gets from its own egress CA (bound read-only).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createContainerBackend } from '../../src/backends/container/index.js';
import type { NetworkPolicy } from '../../src/domain/sandbox.js';
import type { IsolationBackend } from '../../src/port/isolation-backend.js';
import { baseRootfs, containerSkipReason, run } from '../container/helpers.js';
import { netSkipReason, setupTestNet, teardownTestNet, type TestNet } from './helpers.js';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';

const skip = (await containerSkipReason()) ?? (await netSkipReason());
if (skip) console.log(`# skipping container egress tests: ${skip}`);

const SECRET = `hutch-ctr-sekret-${Math.random().toString(36).slice(2)}`;

describe('network policy on the container tier (host, test namespace)', { skip }, () => {
  let net: TestNet;
  let backend: IsolationBackend;
  let dataDir: string;
  let rootfsPath: string;
  const ids: string[] = [];

  before(async () => {
    net = await setupTestNet();
    dataDir = mkdtempSync('/var/tmp/hutch-ctr-egress-');
    chmodSync(dataDir, 0o711);
    rootfsPath = await baseRootfs(dataDir);
    backend = createContainerBackend({ dataDir, egress: { dnsServers: [net.allowedIp], upstreamCaFile: net.caFile } });
  });
  after(async () => {
    for (const id of ids) await backend.destroy(id).catch(() => undefined);
    await backend?.close();
    if (net) teardownTestNet(net);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function sandbox(network: NetworkPolicy, secrets?: Array<{ name: string; value: string }>): Promise<string> {
    const id = `sbx_ctr_net_${ids.length}_${process.pid}`;
    await backend.create({ id, rootfsPath, resources: {}, env: {}, network, ...(secrets ? { secrets } : {}) });
    ids.push(id);
    await backend.start(id);
    return id;
  }

  const get = (host: string, hostHeader = host) =>
    `timeout 5 bash -c 'exec 3<>/dev/tcp/${host}/80 && printf "GET /ctr HTTP/1.0\\r\\nHost: ${hostHeader}\\r\\n\\r\\n" >&3 && cat <&3' 2>&1; echo " rc=$?"`;

  it('allows allowed.test, blocks other.test, its bare IP and the host; injects a secret over HTTP', async () => {
    const inject = [{ host: 'allowed.test', header: 'X-Api-Key', value: '{{secret:KEY}}' }];
    const id = await sandbox({ mode: 'rules', rules: [{ action: 'allow', domain: 'allowed.test' }], inject }, [{ name: 'KEY', value: SECRET }]);
    const before = net.requests.length;
    const r = await run(backend, id, { shell: [get('allowed.test'), get('other.test'), get(net.otherIp, 'other.test'), get(net.hostIp)].join('; ') });
    assert.match(r.stdout, /hello allowed\.test over http/);
    assert.doesNotMatch(r.stdout, /hello other/);
    assert.equal(net.requests.slice(before).find((q) => q.path === '/ctr')?.headers['x-api-key'], SECRET);
    const inside = await run(backend, id, { shell: `cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'; env; echo done` });
    assert.ok(!inside.stdout.includes(SECRET));
    const log = await backend.networkDecisions!(id);
    assert.ok(log.some((d) => d.host === 'allowed.test' && d.verdict === 'allow' && d.injected?.includes('KEY')));
    assert.ok(log.some((d) => d.ip === net.hostIp && d.rule === 'host_guard'));
    assert.ok((await backend.stats(id)).networkEgressBytes > 0);
  });

  it('injects a secret over HTTPS through the sandbox CA; neither the secret nor the CA key enters the container', async () => {
    const inject = [{ host: 'allowed.test', header: 'Authorization', value: 'Bearer {{secret:API_TOKEN}}' }];
    const id = await sandbox({ mode: 'rules', rules: [{ action: 'allow', domain: 'allowed.test' }], inject }, [{ name: 'API_TOKEN', value: SECRET }]);
    const before = net.requests.length;
    // No -k, no --cacert: curl and Python trust the system bundle, nothing else.
    const py = `import urllib.request; print(urllib.request.urlopen("https://allowed.test/py", timeout=10).read().decode(), end="")`;
    const r = await run(backend, id, { shell: `curl -sS --max-time 10 https://allowed.test/tls; python3 -c '${py}'` });
    assert.equal(r.stdout, 'hello allowed.test over https\nhello allowed.test over https\n', r.stderr);
    const got = net.requests.slice(before);
    assert.equal(got.find((q) => q.path === '/tls')?.headers.authorization, `Bearer ${SECRET}`);
    assert.equal(got.find((q) => q.path === '/py')?.headers.authorization, `Bearer ${SECRET}`);
    const log = await backend.networkDecisions!(id);
    assert.ok(log.some((d) => d.host === 'allowed.test' && d.port === 443 && d.injected?.includes('API_TOKEN')));

    // The trusted bundle is the host's roots plus this sandbox's CA certificate, and read-only even to root.
    const caCert = readFileSync(join(dataDir, 'sandboxes', id, 'egress-ca', 'ca.crt'), 'utf8').trim();
    const bundle = await run(backend, id, { shell: 'cat /etc/ssl/certs/ca-certificates.crt' });
    assert.ok(bundle.stdout.trim().endsWith(caCert));
    const write = await run(backend, id, { shell: 'echo x >> /etc/ssl/certs/ca-certificates.crt', user: 'root' });
    assert.notEqual(write.exit.exitCode, 0);
    // Inside: env, /proc of every process, every file in the usual places; no private key anywhere.
    const inside = await run(backend, id, {
      shell: `env; cat /proc/*/environ /proc/*/cmdline 2>/dev/null | tr '\\0' '\\n'; echo ==files==; grep -rl -e "${SECRET.slice(0, 16)}" -e "PRIVATE KEY" /etc /home /root /tmp /workspace /run /var /proc/*/environ 2>/dev/null; echo done`,
      user: 'root',
    });
    assert.match(inside.stdout, /done\n$/);
    assert.deepEqual(inside.stdout.split('\n').filter((l) => l.includes(SECRET) && !l.includes('grep -rl')), []);
    const files = inside.stdout.slice(inside.stdout.indexOf('==files==\n') + 10).split('\n').filter((l) => l && l !== 'done');
    assert.deepEqual(files, [], 'no file or process environment holds the secret or a private key');
  });

  it('applies a policy change to new connections', async () => {
    const id = await sandbox({ mode: 'internet' });
    assert.match((await run(backend, id, { shell: get('other.test') })).stdout, /hello other\.test/);
    await backend.updateNetwork!(id, { mode: 'internet', rules: [{ action: 'deny', domain: 'other.test' }] });
    assert.doesNotMatch((await run(backend, id, { shell: get('other.test') })).stdout, /hello/);
  });
});
