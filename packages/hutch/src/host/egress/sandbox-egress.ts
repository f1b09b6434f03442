/**
 * Egress for every tier with network: one `EgressProxy` per sandbox, plus (process, container)
 * slirp4netns started with the egress shim; the microVM tier instead starts QEMU, whose user-mode
 * network (libslirp) runs in-process, with `shimEnv`. Owned by a backend instance; nothing
 * module-level. The resolver port is kept in the sandbox's directory so a restarted server can
 * listen where the still-running slirp4netns (or QEMU) sends DNS.
 */
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CapabilityMissingError } from '../../domain/errors.js';
import type { NetworkDecision, NetworkPolicy, SandboxSecret } from '../../domain/sandbox.js';
import { startSlirp } from '../slirp.js';
import { caPaths, type SandboxCa } from './ca.js';
import { DecisionLog } from './decision-log.js';
import { EgressProxy } from './proxy.js';
import { DEFAULT_SHIM_PATH, ensureShim } from './shim.js';

export interface EgressOptions {
  /** Upstream resolvers (`ip` or `ip:port`); default: the host's /etc/resolv.conf nameservers. */
  dnsServers?: string[];
  /** PEM file upstream HTTPS must chain to when secrets are injected (default: Node's roots). */
  upstreamCaFile?: string;
  /** The compiled egress shim (default: native/build/hutch-egress-shim.so, built on demand). */
  shimPath?: string;
  /** Where proxy sockets live; must be under /run (slirp4netns's sandbox keeps /run visible). */
  socketDir?: string;
}

export interface AttachRequest {
  backend: string;
  sandboxId: string;
  /** The sandbox's host directory (CA, resolver port file). */
  dir: string;
  policy: NetworkPolicy;
  secrets: SandboxSecret[] | undefined;
  /** For slirp4netns: a pid in the sandbox's netns, its cgroups, tools. Absent on adopt. */
  slirp?: { initPid: number; cgroupProcs: string[]; slirpPath: string; perlPath: string; launcherPath?: string };
  /**
   * The caller starts the shimmed process itself once this returns (QEMU, with `shimEnv`): the
   * shim must exist and the resolver takes a fresh port. Absent (and no `slirp`): an adopt, which
   * listens on the port the still-running process was given.
   */
  launchesShim?: boolean;
  /** The shimmed stack maps a guest address to the host's loopback (QEMU): refuse 127.0.0.0/8 always. */
  refuseLoopback?: boolean;
}

async function resolvConfServers(): Promise<string[]> {
  const text = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  return [...text.matchAll(/^nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/gm)].map((m) => m[1]!);
}

/** The CA directory of a sandbox (inside its host dir, never mounted into the sandbox). */
export function caDir(sandboxDir: string): string {
  return join(sandboxDir, 'egress-ca');
}

export class SandboxEgress {
  private readonly proxies = new Map<string, EgressProxy>();
  private readonly logs = new Map<string, DecisionLog>();
  /** Bytes counted by proxies that were closed since (stop/start). */
  private readonly pastBytes = new Map<string, number>();

  constructor(private readonly dataDir: string, private readonly options: EgressOptions = {}) {}

  socketPath(sandboxId: string): string {
    const tag = createHash('sha256').update(`${this.dataDir}\0${sandboxId}`).digest('hex').slice(0, 24);
    return join(this.options.socketDir ?? '/run/hutch-egress', `${tag}.sock`);
  }

  has(sandboxId: string): boolean {
    return this.proxies.has(sandboxId);
  }

  /** Starts the proxy (and slirp4netns when `slirp` is given). Throws `CapabilityMissingError` without the shim. */
  async attach(req: AttachRequest): Promise<void> {
    const shim = this.options.shimPath;
    const fresh = req.slirp !== undefined || req.launchesShim === true;
    if (fresh && !(await ensureShim(shim))) throw new CapabilityMissingError('network.internet', req.backend, 'give a sandbox network (the egress shim could not be built: install gcc)');
    await this.detach(req.sandboxId);
    const portFile = join(req.dir, 'egress-dns-port');
    const oldPort = Number(await readFile(portFile, 'utf8').catch(() => '0')) || 0;
    const candidate = caPaths(caDir(req.dir));
    // Only a tier that installed the CA in the sandbox's trust store made one: without it, HTTPS
    // to an injected host is relayed untouched (no injection) instead of failing verification.
    const ca: SandboxCa | undefined = req.secrets?.length && (await stat(candidate.certFile).catch(() => undefined)) ? candidate : undefined;
    const upstreamCa = this.options.upstreamCaFile ? await readFile(this.options.upstreamCaFile, 'utf8') : undefined;
    const proxy = new EgressProxy({
      sandboxId: req.sandboxId,
      socketPath: this.socketPath(req.sandboxId),
      dnsPort: fresh ? 0 : oldPort,
      policy: req.policy,
      secrets: new Map((req.secrets ?? []).map((s) => [s.name, s.value])),
      ...(ca ? { ca } : {}),
      dnsServers: this.options.dnsServers ?? (await resolvConfServers()),
      ...(upstreamCa ? { upstreamCa } : {}),
      decisions: this.log(req.sandboxId),
      ...(req.refuseLoopback ? { refuseLoopback: true } : {}),
    });
    await proxy.start();
    this.proxies.set(req.sandboxId, proxy);
    await writeFile(portFile, String(proxy.dnsPort), { mode: 0o600 });
    if (!req.slirp) return;
    try {
      await startSlirp({
        backend: req.backend, sandboxId: req.sandboxId, initPid: req.slirp.initPid, cgroupProcs: req.slirp.cgroupProcs,
        logFile: join(req.dir, 'slirp.log'), slirpPath: req.slirp.slirpPath, perlPath: req.slirp.perlPath,
        ...(req.slirp.launcherPath ? { launcherPath: req.slirp.launcherPath } : {}),
        env: this.shimEnv(req.sandboxId),
      });
    } catch (err) {
      await this.detach(req.sandboxId);
      throw err;
    }
  }

  /**
   * The environment of a process whose outbound sockets must go through the sandbox's proxy:
   * the shim preloaded, and (while the proxy is attached) its socket and resolver port. Without a
   * proxy the shim fails closed: every outbound connection and lookup is refused.
   */
  shimEnv(sandboxId: string): Record<string, string> {
    const env: Record<string, string> = { LD_PRELOAD: this.shimPath() };
    const proxy = this.proxies.get(sandboxId);
    if (proxy) Object.assign(env, { HUTCH_EGRESS_SOCKET: this.socketPath(sandboxId), HUTCH_EGRESS_DNS_PORT: String(proxy.dnsPort) });
    return env;
  }

  /** Builds the shim when missing; false when it cannot be (no gcc). */
  ensureShim(): Promise<boolean> {
    return ensureShim(this.options.shimPath);
  }

  private shimPath(): string {
    return this.options.shimPath ?? DEFAULT_SHIM_PATH;
  }

  setPolicy(sandboxId: string, policy: NetworkPolicy): void {
    this.proxies.get(sandboxId)?.setPolicy(policy);
  }

  /** Closes the proxy (the sandbox stopped); its log and byte count stay until `forget`. */
  async detach(sandboxId: string): Promise<void> {
    const proxy = this.proxies.get(sandboxId);
    this.proxies.delete(sandboxId);
    if (proxy) this.pastBytes.set(sandboxId, (this.pastBytes.get(sandboxId) ?? 0) + proxy.egressBytes);
    await proxy?.close();
  }

  /** Closes the proxy and drops the log and counters (the sandbox is gone). */
  async forget(sandboxId: string): Promise<void> {
    await this.detach(sandboxId);
    this.logs.delete(sandboxId);
    this.pastBytes.delete(sandboxId);
  }

  private log(sandboxId: string): DecisionLog {
    let log = this.logs.get(sandboxId);
    if (!log) this.logs.set(sandboxId, (log = new DecisionLog(1000)));
    return log;
  }

  egressBytes(sandboxId: string): number {
    return (this.pastBytes.get(sandboxId) ?? 0) + (this.proxies.get(sandboxId)?.egressBytes ?? 0);
  }

  decisions(sandboxId: string, afterSeq = 0, limit?: number): NetworkDecision[] {
    return this.log(sandboxId).list(afterSeq, limit);
  }

  follow(sandboxId: string, afterSeq: number, signal: AbortSignal): AsyncIterable<NetworkDecision> {
    return this.log(sandboxId).follow(afterSeq, signal);
  }

  async closeAll(): Promise<void> {
    for (const id of [...this.proxies.keys()]) await this.forget(id);
  }
}
