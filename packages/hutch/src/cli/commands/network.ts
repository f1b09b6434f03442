/**
 * `hutch network get <id>`, `hutch network set <id> …` (replace the policy of a live sandbox) and
 * `hutch network log <id>` (the egress decision log; `--follow` for live). Rules are given as
 * `--allow`/`--deny` values: a domain (`a.com`, `*.a.com`, `*`) or an IPv4 CIDR, with an optional
 * `:PORT[,PORT]` suffix.
 */
import type { NetworkDecision, NetworkPolicy, NetworkRule } from '@hutch/sdk';
import type { Command } from 'commander';
import { openSandbox } from '../context.js';
import { UsageError } from '../errors.js';
import { printJson, writeAll } from '../output.js';
import { parsePositiveInt } from '../parse.js';
import { interruptSignal } from './events.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `*.npmjs.org:443,80` → a rule; a value with a digit-dot start and `/` or 4 octets is a CIDR. */
export function parseRule(action: 'allow' | 'deny', value: string): NetworkRule {
  const m = /^(.*?)(?::(\d+(?:,\d+)*))?$/.exec(value.trim());
  const target = m?.[1] ?? '';
  if (!target) throw new UsageError(`--${action} needs a domain or CIDR, got "${value}"`);
  const ports = m?.[2]?.split(',').map(Number);
  const isCidr = /^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(target);
  return { action, ...(isCidr ? { cidr: target } : { domain: target }), ...(ports ? { ports } : {}) };
}

export interface PolicyFlags {
  allow?: string[];
  deny?: string[];
  audit?: boolean;
  internet?: boolean;
  inject?: string[];
}

/** Flags → policy: `--internet` gives mode internet; any rule, `--audit` or `--inject` gives mode rules. */
export function policyFromFlags(flags: PolicyFlags, base: NetworkPolicy = { mode: 'none' }): NetworkPolicy {
  const rules = [...(flags.allow ?? []).map((v) => parseRule('allow', v)), ...(flags.deny ?? []).map((v) => parseRule('deny', v))];
  const inject = (flags.inject ?? []).map((v) => {
    const [host, header, ...rest] = v.split(':');
    if (!host || !header || rest.length === 0) throw new UsageError(`--inject wants HOST:HEADER:VALUE, got "${v}"`);
    return { host, header, value: rest.join(':') };
  });
  const mode = flags.internet ? 'internet' : rules.length || flags.audit || inject.length ? 'rules' : base.mode;
  return { ...base, mode, ...(rules.length ? { rules } : {}), ...(flags.audit ? { audit: true } : {}), ...(inject.length ? { inject } : {}) };
}

/** `12:00:00.000Z  #3 connect allowed.test 10.0.0.2:443 allow rules[0]` */
export function formatDecision(d: NetworkDecision): string {
  const where = d.ip ? `${d.ip}:${d.port}` : d.port !== null ? `:${d.port}` : '';
  const injected = d.injected?.length ? ` injected=${d.injected.join(',')}` : '';
  return `${d.at}  #${d.seq} ${d.kind} ${d.host ?? '-'} ${where} ${d.verdict} ${d.rule}${injected}`;
}

/** Adds the policy flags to a command (create, network set). */
export function withPolicyFlags(command: Command): Command {
  return command
    .option('--allow <rule>', 'allow egress to a domain (a.com, *.a.com, *) or CIDR, optional :PORTS (repeatable)', collect)
    .option('--deny <rule>', 'deny egress to a domain or CIDR, optional :PORTS; deny beats allow (repeatable)', collect)
    .option('--audit', 'log what would be blocked, block nothing')
    .option('--inject <host:header:value>', 'add a header to requests to host at the egress proxy; {{secret:NAME}} in value (repeatable)', collect);
}

export function registerNetworkCommands(program: Command): void {
  const network = program.command('network').description('network policy and egress decision log of a sandbox');

  network
    .command('get')
    .description('print the network policy')
    .argument('<id>', 'sandbox id')
    .action(async (id: string, _flags: unknown, command: Command) => {
      printJson(await (await openSandbox(command, id)).getNetwork());
    });

  withPolicyFlags(
    network
      .command('set')
      .description('replace the network policy of a live sandbox (new connections use it at once)')
      .argument('<id>', 'sandbox id')
      .option('--internet', 'egress anywhere but the host and other sandboxes (minus --deny)')
      .option('--none', 'no network at all')
      .option('--policy <json>', 'the whole policy as JSON (other flags ignored)'),
  ).action(async (id: string, flags: PolicyFlags & { none?: boolean; policy?: string }, command: Command) => {
    const sandbox = await openSandbox(command, id);
    let policy: NetworkPolicy;
    if (flags.policy) {
      try {
        policy = JSON.parse(flags.policy) as NetworkPolicy;
      } catch {
        throw new UsageError('--policy is not valid JSON');
      }
    } else policy = flags.none ? { mode: 'none' } : policyFromFlags(flags, { mode: 'rules' });
    printJson(await sandbox.updateNetwork(policy));
  });

  network
    .command('log')
    .description('show the egress decisions of a sandbox')
    .argument('<id>', 'sandbox id')
    .option('-f, --follow', 'keep printing decisions as they happen')
    .option('--after <seq>', 'only decisions after this sequence number', parsePositiveInt)
    .option('--json', 'print JSON (an array; with --follow one object per line)')
    .action(async (id: string, flags: { follow?: boolean; after?: number; json?: boolean }, command: Command) => {
      const sandbox = await openSandbox(command, id);
      const after = flags.after !== undefined ? { after: flags.after } : {};
      if (!flags.follow) {
        const decisions = await sandbox.networkDecisions(after);
        if (flags.json) return printJson(decisions);
        for (const d of decisions) process.stdout.write(`${formatDecision(d)}\n`);
        return;
      }
      for await (const d of sandbox.followNetworkDecisions({ ...after, signal: interruptSignal() })) {
        await writeAll(process.stdout, `${flags.json ? JSON.stringify(d) : formatDecision(d)}\n`);
      }
    });
}
