/**
 * The per-sandbox egress proxy (docs/network.md). slirp4netns, with the egress shim preloaded
 * (native/egress-shim.c), is a sandbox's only way out of its network namespace; the shim hands
 * every outbound TCP connection to this proxy's unix socket with a header naming the original
 * destination, and every DNS query to this proxy's resolver. Here each connection is attributed
 * to names (the sandbox's own DNS answers, narrowed by TLS SNI or HTTP Host), judged by
 * `evaluateEgress`, logged, and then relayed, intercepted for secret injection, or dropped.
 * Sandbox processes never run here and cannot reach the proxy except through slirp4netns.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { dirname } from 'node:path';
import { evaluateEgress, evaluateName, injectionsFor, parseIpv4 } from '../../domain/network-rules.js';
import type { NetworkDecision, NetworkPolicy } from '../../domain/sandbox.js';
import type { SandboxCa } from './ca.js';
import { DecisionLog } from './decision-log.js';
import { answerAddresses, errorResponse, parseQuestion } from './dns-message.js';
import { interceptHttp, type Upstream } from './inject.js';
import { sniff, type Sniffed } from './sniff.js';

export interface EgressProxyOptions {
  sandboxId: string;
  /** Unix socket the shim connects to (its directory is created with mode 0700). */
  socketPath: string;
  /** UDP port of the resolver on 127.0.0.1 (0: any free port; reuse the old one after a restart). */
  dnsPort?: number;
  policy: NetworkPolicy;
  /** Secret values by name, for `policy.inject`. Never logged. */
  secrets: ReadonlyMap<string, string>;
  /** The sandbox CA; HTTPS injection needs it. */
  ca?: SandboxCa;
  /** Upstream resolvers, `ip` or `ip:port`. */
  dnsServers: string[];
  /** PEM bundle that upstream TLS must chain to when the proxy re-originates HTTPS (default: Node's). */
  upstreamCa?: string;
  /** How long to wait for a client's first bytes (SNI/Host) before judging by DNS names alone. */
  sniffMs?: number;
  /** Where decisions go (kept by the owner across proxy restarts); default: a new ring of 1000. */
  decisions?: DecisionLog;
  /**
   * Refuse the host's loopback (127.0.0.0/8) even to a /32 allow rule: for a user-mode stack that
   * maps its gateway address to the host's loopback and cannot be told not to (QEMU's libslirp).
   */
  refuseLoopback?: boolean;
}

const SPECIAL = ['127.0.0.0/8', '0.0.0.0/8', '169.254.0.0/16', '224.0.0.0/4', '255.255.255.255/32'];

/** True for the host's own addresses (every interface), loopback, 0.0.0.0/8, link-local, multicast. */
export function isHostAddress(ip: string): boolean {
  const n = parseIpv4(ip);
  if (n === undefined) return true;
  for (const c of SPECIAL) {
    const [base, len] = c.split('/');
    const shift = 32 - Number(len);
    if (Math.floor(parseIpv4(base!)! / 2 ** shift) === Math.floor(n / 2 ** shift)) return true;
  }
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && a.address === ip) return true;
  return false;
}

export class EgressProxy {
  readonly decisions: DecisionLog;
  /** Bytes the sandbox sent out (TCP payload and DNS queries). */
  egressBytes = 0;
  private policy: NetworkPolicy;
  private server: Server | undefined;
  private udp: UdpSocket | undefined;
  private readonly sockets = new Set<Socket>();
  /** ip → names → expiry (ms), learned from this sandbox's DNS answers. */
  private readonly names = new Map<string, Map<string, number>>();

  constructor(private readonly options: EgressProxyOptions) {
    this.policy = options.policy;
    this.decisions = options.decisions ?? new DecisionLog(1000);
  }

  get dnsPort(): number {
    const a = this.udp?.address();
    return a ? a.port : 0;
  }

  /** The policy new connections and lookups are judged by, from the next one on. */
  setPolicy(policy: NetworkPolicy): void {
    this.policy = policy;
  }

  async start(): Promise<void> {
    await mkdir(dirname(this.options.socketPath), { recursive: true, mode: 0o700 });
    await rm(this.options.socketPath, { force: true });
    const server = createServer((s) => void this.handle(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.socketPath, () => resolve());
    });
    await chmod(this.options.socketPath, 0o600);
    this.server = server;
    const udp = createSocket('udp4');
    udp.on('message', (msg, rinfo) => void this.resolve(msg, rinfo.port, rinfo.address));
    udp.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(this.options.dnsPort ?? 0, '127.0.0.1', () => resolve());
    });
    this.udp = udp;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.udp?.close();
    this.udp = undefined;
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(this.options.socketPath, { force: true });
  }

  private log(d: Omit<NetworkDecision, 'seq' | 'at'>): void {
    this.decisions.append(d);
  }

  private namesFor(ip: string): string[] {
    const entry = this.names.get(ip);
    if (!entry) return [];
    const now = Date.now();
    for (const [name, expiry] of entry) if (expiry < now) entry.delete(name);
    return [...entry.keys()];
  }

  private learn(name: string, ip: string, ttlS: number): void {
    let entry = this.names.get(ip);
    if (!entry) this.names.set(ip, (entry = new Map()));
    // Connections often follow a lookup by more than its TTL (cached by the client): keep ≥ 10 min.
    entry.set(name, Date.now() + Math.max(ttlS, 600) * 1000);
  }

  private async resolve(msg: Buffer, port: number, address: string): Promise<void> {
    this.egressBytes += msg.length;
    const q = parseQuestion(msg);
    const reply = (b: Buffer) => this.udp?.send(b, port, address);
    if (!q) return void reply(errorResponse(msg, 1));
    const v = evaluateName(this.policy, q.name);
    this.log({ kind: 'dns', host: q.name, ip: null, port: 53, verdict: v.verdict, rule: v.rule });
    if (v.verdict === 'deny') return void reply(errorResponse(msg, 3));
    const answer = await this.forward(msg).catch(() => undefined);
    if (!answer) return void reply(errorResponse(msg, 2));
    for (const a of answerAddresses(answer)) this.learn(q.name, a.ip, a.ttlS);
    reply(answer);
  }

  private async forward(msg: Buffer): Promise<Buffer | undefined> {
    for (const server of this.options.dnsServers) {
      const [host, p] = server.split(':');
      const answer = await new Promise<Buffer | undefined>((resolve) => {
        const s = createSocket('udp4');
        const timer = setTimeout(() => finish(undefined), 2000);
        const finish = (b: Buffer | undefined) => {
          clearTimeout(timer);
          s.close();
          resolve(b);
        };
        s.on('error', () => finish(undefined));
        s.on('message', (b) => (b.length >= 2 && b.readUInt16BE(0) === msg.readUInt16BE(0) ? finish(b) : undefined));
        s.send(msg, Number(p ?? 53), host!);
      });
      if (answer) return answer;
    }
    return undefined;
  }

  private async handle(client: Socket): Promise<void> {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    const got = await this.readHead(client);
    if (!got) return void client.destroy();
    const { ip, port, first } = got;
    this.egressBytes += first.length;
    const sniffed = first.length > 0 ? sniff(first) : ({ kind: 'other' } as Sniffed);
    const dnsNames = this.namesFor(ip);
    const announced = sniffed.kind === 'tls' || sniffed.kind === 'http' ? sniffed.name : null;
    // An announced name counts only if the sandbox's own lookup of it returned this address.
    const names = announced !== null ? (dnsNames.includes(announced) ? [announced] : []) : dnsNames;
    const loopback = this.options.refuseLoopback === true && ip.startsWith('127.');
    const v = loopback ? { verdict: 'deny' as const, rule: 'host_guard', host: null } : evaluateEgress(this.policy, { ip, port, names, hostAddress: isHostAddress(ip) });
    const host = v.host ?? announced ?? dnsNames[0] ?? null;
    const injections = v.verdict !== 'deny' && names.length === 1 && announced !== null ? injectionsFor(this.policy, announced) : [];
    const tlsIntercept = injections.length > 0 && sniffed.kind === 'tls' && this.options.ca !== undefined;
    const httpIntercept = injections.length > 0 && sniffed.kind === 'http';
    const injected = tlsIntercept || httpIntercept ? [...new Set(injections.flatMap((i) => [...i.value.matchAll(/\{\{secret:([A-Za-z0-9_]+)\}\}/g)].map((m) => m[1]!)))] : undefined;
    this.log({ kind: 'connect', host, ip, port, verdict: v.verdict, rule: v.rule, ...(injected ? { injected } : {}) });
    if (v.verdict === 'deny') return void client.destroy();
    if (tlsIntercept || httpIntercept) {
      const upstream: Upstream = { ip, port, host: announced!, tls: tlsIntercept, ...(this.options.upstreamCa ? { ca: this.options.upstreamCa } : {}) };
      const count = (n: number) => (this.egressBytes += n);
      interceptHttp({ client, first, upstream, injections, secrets: this.options.secrets, count, ...(tlsIntercept && this.options.ca ? { ca: this.options.ca } : {}) });
      return;
    }
    this.relay(client, first, ip, port);
  }

  private relay(client: Socket, first: Buffer, ip: string, port: number): void {
    const up = netConnect({ host: ip, port });
    this.sockets.add(up);
    up.on('close', () => this.sockets.delete(up));
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
    up.once('connect', () => {
      if (first.length > 0) up.write(first);
      client.on('data', (d: Buffer) => (this.egressBytes += d.length));
      client.pipe(up);
      up.pipe(client);
      client.resume();
    });
    client.on('close', () => up.destroy());
    up.on('close', () => client.destroy());
  }

  /** Reads the shim's header line, then the client's first bytes (until a name is known or `sniffMs`). */
  private readHead(client: Socket): Promise<{ ip: string; port: number; first: Buffer } | undefined> {
    return new Promise((resolve) => {
      let buf = Buffer.alloc(0);
      let dest: { ip: string; port: number } | undefined;
      let timer: NodeJS.Timeout | undefined;
      const done = (ok: boolean) => {
        clearTimeout(timer);
        client.off('data', onData);
        client.off('end', onEnd);
        client.pause();
        resolve(ok && dest ? { ...dest, first: buf } : undefined);
      };
      const onEnd = () => done(dest !== undefined);
      // A client that never sends the header is not the shim: give up on it.
      timer = setTimeout(() => done(false), 5000);
      const onData = (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (!dest) {
          const nl = buf.indexOf(10);
          if (nl < 0) return void (buf.length > 64 ? done(false) : undefined);
          const m = /^HUTCH1 (\d{1,3}(?:\.\d{1,3}){3}) (\d{1,5})$/.exec(buf.toString('latin1', 0, nl));
          if (!m) return done(false);
          dest = { ip: m[1]!, port: Number(m[2]) };
          buf = buf.subarray(nl + 1);
          clearTimeout(timer);
          timer = setTimeout(() => done(true), this.options.sniffMs ?? 300);
        }
        if (buf.length > 0 && sniff(buf).kind !== 'incomplete') done(true);
      };
      client.on('data', onData);
      client.on('end', onEnd);
    });
  }
}
