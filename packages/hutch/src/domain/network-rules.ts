/**
 * Egress rule evaluation: pure, no I/O. The egress proxy calls `evaluateEgress` for every TCP
 * connection and `evaluateName` for every DNS lookup; docs/network.md explains the order to users.
 *
 * Order (first step that decides wins):
 * 1. `mode: none` → deny (`mode:none`).
 * 2. Host guard: a destination that is one of the host's own addresses (any interface, loopback,
 *    0.0.0.0/8, link-local) is denied (`host_guard`) unless an `allow` rule names exactly that
 *    address (a /32 `cidr`). Audit mode never lifts the host guard.
 * 3. Any matching `deny` rule → deny (deny beats allow, whatever the order of the list).
 * 4. Any matching `allow` rule → allow.
 * 5. Otherwise the mode's default: `internet` → allow (`mode:internet`), `rules` → deny (`default`).
 * A denied verdict becomes `audit` (passes, logged) when `audit` is set, except in steps 1 and 2.
 *
 * A rule matches when its port list is empty or holds the port, and its `cidr` holds the IP or its
 * `domain` matches one of the names attributed to the connection (the sandbox's own DNS answers for
 * that IP, narrowed to the TLS SNI / HTTP Host when the connection names one).
 */
import { BadRequestError } from './errors.js';
import type { NetworkPolicy, NetworkRule, SecretInjection } from './sandbox.js';

export type Verdict = 'allow' | 'deny' | 'audit';

export interface EgressQuery {
  ip: string;
  port: number;
  /** Names attributed to this connection (lower case, no trailing dot); may be empty. */
  names: string[];
  /** True when `ip` is one of the host's own addresses (see host guard). */
  hostAddress: boolean;
}

export interface EgressVerdict {
  verdict: Verdict;
  /** `rules[i]`, `mode:none`, `mode:internet`, `default`, `host_guard`. */
  rule: string;
  /** The name that matched a domain rule, if one did. */
  host: string | null;
}

/** Parses dotted IPv4 to a 32-bit unsigned number, or undefined. */
export function parseIpv4(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

/** `a.b.c.d/len` or `a.b.c.d` → base and prefix length, or undefined. */
export function parseCidr(cidr: string): { base: number; prefix: number } | undefined {
  const [addr, len, extra] = cidr.split('/');
  if (extra !== undefined || addr === undefined) return undefined;
  const base = parseIpv4(addr);
  const prefix = len === undefined ? 32 : /^\d{1,2}$/.test(len) ? Number(len) : NaN;
  if (base === undefined || !(prefix >= 0 && prefix <= 32)) return undefined;
  return { base, prefix };
}

export function cidrContains(cidr: string, ip: string): boolean {
  const c = parseCidr(cidr);
  const n = parseIpv4(ip);
  if (!c || n === undefined) return false;
  if (c.prefix === 0) return true;
  const shift = 32 - c.prefix;
  return Math.floor(c.base / 2 ** shift) === Math.floor(n / 2 ** shift);
}

/** Lower case, no trailing dot. */
export function normalizeName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

/** `*` matches any name; `*.example.com` any name strictly below example.com; else exact. */
export function domainMatches(pattern: string, name: string): boolean {
  const p = normalizeName(pattern);
  const n = normalizeName(name);
  if (p === '*') return n.length > 0;
  if (p.startsWith('*.')) return n.endsWith(p.slice(1)) && n.length > p.length - 1;
  return p === n;
}

function portMatches(rule: NetworkRule, port: number): boolean {
  return !rule.ports || rule.ports.length === 0 || rule.ports.includes(port);
}

function ruleMatch(rule: NetworkRule, q: EgressQuery): string | null | undefined {
  if (!portMatches(rule, q.port)) return undefined;
  if (rule.cidr !== undefined) return cidrContains(rule.cidr, q.ip) ? null : undefined;
  if (rule.domain !== undefined) return q.names.find((n) => domainMatches(rule.domain!, n));
  return undefined;
}

function soften(policy: NetworkPolicy, v: EgressVerdict): EgressVerdict {
  return v.verdict === 'deny' && policy.audit ? { ...v, verdict: 'audit' } : v;
}

/** The verdict for one TCP connection (see the module comment for the order). */
export function evaluateEgress(policy: NetworkPolicy, q: EgressQuery): EgressVerdict {
  if (policy.mode === 'none') return { verdict: 'deny', rule: 'mode:none', host: null };
  const rules = policy.rules ?? [];
  if (q.hostAddress) {
    const i = rules.findIndex((r) => r.action === 'allow' && r.cidr !== undefined && parseCidr(r.cidr)?.prefix === 32 && cidrContains(r.cidr, q.ip) && portMatches(r, q.port));
    if (i < 0) return { verdict: 'deny', rule: 'host_guard', host: null };
  }
  for (const action of ['deny', 'allow'] as const) {
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (rule.action !== action) continue;
      const m = ruleMatch(rule, q);
      if (m === undefined) continue;
      return soften(policy, { verdict: action, rule: `rules[${i}]`, host: m ?? q.names[0] ?? null });
    }
  }
  if (policy.mode === 'internet') return { verdict: 'allow', rule: 'mode:internet', host: q.names[0] ?? null };
  return soften(policy, { verdict: 'deny', rule: 'default', host: q.names[0] ?? null });
}

/**
 * The verdict for resolving `name` through the sandbox's resolver. A name resolves when some
 * connection to it could be allowed: no deny domain rule matches it (on every port) and an allow
 * domain rule matches it, or the mode is `internet`. Denied lookups answer NXDOMAIN, so names do
 * not leak out through DNS.
 */
export function evaluateName(policy: NetworkPolicy, rawName: string): EgressVerdict {
  const name = normalizeName(rawName);
  if (policy.mode === 'none') return { verdict: 'deny', rule: 'mode:none', host: name };
  const rules = policy.rules ?? [];
  const d = rules.findIndex((r) => r.action === 'deny' && r.domain !== undefined && (!r.ports || r.ports.length === 0) && domainMatches(r.domain, name));
  if (d >= 0) return soften(policy, { verdict: 'deny', rule: `rules[${d}]`, host: name });
  const a = rules.findIndex((r) => r.action === 'allow' && r.domain !== undefined && domainMatches(r.domain, name));
  if (a >= 0) return { verdict: 'allow', rule: `rules[${a}]`, host: name };
  if (policy.mode === 'internet') return { verdict: 'allow', rule: 'mode:internet', host: name };
  return soften(policy, { verdict: 'deny', rule: 'default', host: name });
}

/** The injections for `host` (exact, case-insensitive). */
export function injectionsFor(policy: NetworkPolicy, host: string): SecretInjection[] {
  const n = normalizeName(host);
  return (policy.inject ?? []).filter((i) => normalizeName(i.host) === n);
}

const SECRET_REF = /\{\{secret:([A-Za-z_][A-Za-z0-9_]*)\}\}/g;

/** Secret names referenced by an injection value. */
export function secretRefs(value: string): string[] {
  return [...value.matchAll(SECRET_REF)].map((m) => m[1]!);
}

/** The value with every `{{secret:NAME}}` replaced (unknown names throw BadRequestError). */
export function renderInjection(value: string, secrets: ReadonlyMap<string, string>): string {
  return value.replace(SECRET_REF, (_m, name: string) => {
    const v = secrets.get(name);
    if (v === undefined) throw new BadRequestError(`Unknown secret "${name}".`, { field: 'network.inject' });
    return v;
  });
}

const DOMAIN = /^(\*|(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*)$/;
const HEADER = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/;

/**
 * Semantic checks of a policy (shapes are the schema's job): one of domain/cidr per rule, valid
 * names and CIDRs, ports, header names, and injections that name known secrets. Throws
 * `BadRequestError` with the field.
 */
export function validateNetworkPolicy(policy: NetworkPolicy, secretNames: ReadonlySet<string>): void {
  if (!['none', 'internet', 'rules'].includes(policy.mode)) throw new BadRequestError('network.mode must be none, internet or rules.', { field: 'network.mode' });
  (policy.rules ?? []).forEach((rule, i) => {
    const field = `network.rules[${i}]`;
    if (rule.action !== 'allow' && rule.action !== 'deny') throw new BadRequestError(`${field}.action must be allow or deny.`, { field });
    if ((rule.domain === undefined) === (rule.cidr === undefined)) throw new BadRequestError(`${field} needs exactly one of domain and cidr.`, { field });
    if (rule.domain !== undefined && (rule.domain.length > 253 || !DOMAIN.test(normalizeName(rule.domain)))) throw new BadRequestError(`${field}.domain "${rule.domain.slice(0, 60)}" is not a name, *.name or *.`, { field });
    if (rule.cidr !== undefined && !parseCidr(rule.cidr)) throw new BadRequestError(`${field}.cidr "${rule.cidr.slice(0, 60)}" is not an IPv4 address or CIDR.`, { field });
    for (const port of rule.ports ?? []) if (!Number.isInteger(port) || port < 1 || port > 65535) throw new BadRequestError(`${field}.ports holds ${port}, not a TCP port.`, { field });
  });
  for (const port of policy.exposedPorts ?? []) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new BadRequestError(`Exposed port ${port} is not a TCP port number.`, { field: 'network.exposedPorts' });
  }
  (policy.inject ?? []).forEach((inj, i) => {
    const field = `network.inject[${i}]`;
    if (!DOMAIN.test(normalizeName(inj.host)) || inj.host.includes('*')) throw new BadRequestError(`${field}.host must be an exact host name.`, { field });
    if (!HEADER.test(inj.header)) throw new BadRequestError(`${field}.header is not an HTTP header name.`, { field });
    if (/[\r\n]/.test(inj.value)) throw new BadRequestError(`${field}.value must be one line.`, { field });
    for (const name of secretRefs(inj.value)) if (!secretNames.has(name)) throw new BadRequestError(`${field} names secret "${name}", which the sandbox does not have.`, { field });
  });
}

/** True when the sandbox needs an egress path (slirp4netns + proxy) at all. */
export function needsEgress(policy: NetworkPolicy): boolean {
  return policy.mode !== 'none';
}
