/**
 * E2B network settings → Hutch's policy (docs/network.md, "E2B"). E2B lets `allowOut` win over
 * `denyOut` and knows no audit; Hutch lets deny win. The mapping keeps E2B's meaning for its
 * documented patterns:
 * - `allow_internet_access: false`, or `0.0.0.0/0` in `denyOut` → mode `rules` (deny by default),
 *   and every `allowOut` entry (CIDR, IP or domain) becomes an allow rule;
 * - otherwise mode `internet` (when the backend has it, else `rules`), with each `denyOut` CIDR a
 *   deny rule and each `allowOut` entry an allow rule. An `allowOut` entry inside a `denyOut` CIDR
 *   is where the two models differ: Hutch denies it (documented).
 * `rules` (header transforms) and `egressProxy` are not supported and are refused when given.
 */
import { BadRequestError } from '../../domain/errors.js';
import type { NetworkPolicy, NetworkRule } from '../../domain/sandbox.js';

export interface E2bNetworkConfig {
  allow_internet_access?: boolean;
  allowOut?: string[];
  denyOut?: string[];
  rules?: unknown;
  egressProxy?: unknown;
}

const CIDR = /^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/;
const ANY = new Set(['0.0.0.0/0', '0.0.0.0']);

function strings(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new BadRequestError(`${field} must be a list of strings.`, { field });
  return value as string[];
}

export function e2bNetworkPolicy(config: E2bNetworkConfig, internetAvailable: boolean): NetworkPolicy {
  if (config.rules !== undefined && config.rules !== null && Object.keys(config.rules as object).length > 0) {
    throw new BadRequestError('network.rules (header transforms) are not supported here: use Hutch secrets with network.inject (docs/network.md).', { field: 'network.rules' });
  }
  if (config.egressProxy) throw new BadRequestError('network.egressProxy is not supported.', { field: 'network.egressProxy' });
  const allowOut = strings(config.allowOut, 'allowOut');
  const denyOut = strings(config.denyOut, 'denyOut');
  for (const d of denyOut) if (!CIDR.test(d)) throw new BadRequestError(`denyOut entry "${d.slice(0, 60)}" is not an IPv4 CIDR or address.`, { field: 'denyOut' });
  const denyAll = config.allow_internet_access === false || denyOut.some((d) => ANY.has(d));
  const allow: NetworkRule[] = allowOut.map((a) => (CIDR.test(a) ? { action: 'allow', cidr: a } : { action: 'allow', domain: a }));
  const deny: NetworkRule[] = denyOut.filter((d) => !ANY.has(d)).map((d) => ({ action: 'deny', cidr: d }));
  if (denyAll) {
    if (allow.length === 0) return { mode: 'none' };
    return { mode: 'rules', rules: allow };
  }
  const rules = [...allow, ...deny];
  if (internetAvailable) return { mode: 'internet', ...(rules.length ? { rules } : {}) };
  return rules.length ? { mode: 'rules', rules } : { mode: 'none' };
}
