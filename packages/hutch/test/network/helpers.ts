/**
 * Test network for the egress tests: a network namespace of our own (`hutch-test-up-<rand>`)
 * joined to the host by a veth (10.253.N.1 host side, .2 and .3 inside), with a DNS server and
 * HTTP/HTTPS servers inside (upstream-server.ts) whose certificate comes from a test CA. No
 * traffic ever leaves this machine. `teardown` removes the namespace (and with it the veth), the
 * server process and the temp dir.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { constants, accessSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureShim } from '../../src/host/egress/shim.js';

export interface TestNet {
  ns: string;
  hostIp: string;
  allowedIp: string;
  otherIp: string;
  caFile: string;
  dir: string;
  /** JSON lines the upstream printed (one per request). */
  requests: Array<{ scheme: string; host: string | null; path: string; headers: Record<string, string>; local: string }>;
  server: ChildProcess;
}

function has(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Why the egress host tests cannot run here, or undefined. */
export async function netSkipReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'egress host tests need root (network namespaces, veth)';
  for (const tool of ['/usr/sbin/ip', '/usr/bin/nsenter', '/usr/bin/openssl', '/usr/bin/slirp4netns', '/usr/bin/curl', '/usr/bin/unshare']) if (!has(tool)) return `missing ${tool}`;
  if (!(await ensureShim())) return 'the egress shim cannot be built (gcc missing?)';
  return undefined;
}

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

export async function setupTestNet(): Promise<TestNet> {
  const n = 10 + Math.floor(Math.random() * 200);
  const tag = Math.random().toString(36).slice(2, 8);
  const ns = `hutch-test-up-${tag}`;
  const veth = `hte${tag}`;
  const dir = mkdtempSync(join(tmpdir(), 'hutch-egress-test-'));
  const net: TestNet = { ns, hostIp: `10.253.${n}.1`, allowedIp: `10.253.${n}.2`, otherIp: `10.253.${n}.3`, caFile: join(dir, 'ca.crt'), dir, requests: [], server: undefined as unknown as ChildProcess };
  try {
    sh('ip', ['netns', 'add', ns]);
    sh('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    sh('ip', ['addr', 'add', `${net.hostIp}/24`, 'dev', veth]);
    sh('ip', ['link', 'set', veth, 'up']);
    sh('ip', ['-n', ns, 'addr', 'add', `${net.allowedIp}/24`, 'dev', 'eth0']);
    sh('ip', ['-n', ns, 'addr', 'add', `${net.otherIp}/24`, 'dev', 'eth0']);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    const o = (args: string[]) => sh('openssl', args);
    o(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', net.caFile, '-days', '2', '-subj', '/CN=hutch test upstream CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
    o(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'up.key'), '-out', join(dir, 'up.crt'), '-CA', net.caFile, '-CAkey', join(dir, 'ca.key'), '-days', '2', '-subj', '/CN=allowed.test', '-addext', 'subjectAltName=DNS:allowed.test,DNS:other.test']);
    const script = fileURLToPath(new URL('./upstream-server.js', import.meta.url));
    const names = `allowed.test=${net.allowedIp},other.test=${net.otherIp}`;
    net.server = spawn('nsenter', [`--net=/run/netns/${ns}`, process.execPath, script, `${net.allowedIp},${net.otherIp}`, names, join(dir, 'up.crt'), join(dir, 'up.key')], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => reject(new Error('upstream server did not start')), 10_000);
      net.server.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line === 'ready') {
            clearTimeout(timer);
            resolve();
          } else if (line.startsWith('{')) net.requests.push(JSON.parse(line));
        }
      });
      net.server.once('exit', () => reject(new Error('upstream server exited')));
    });
    return net;
  } catch (err) {
    teardownTestNet(net);
    throw err;
  }
}

export function teardownTestNet(net: TestNet): void {
  net.server?.kill('SIGKILL');
  try {
    sh('ip', ['netns', 'del', net.ns]);
  } catch {
    // not created
  }
  rmSync(net.dir, { recursive: true, force: true });
}
