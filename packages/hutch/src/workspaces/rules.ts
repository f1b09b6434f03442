/**
 * Workspace permission rules: which paths of a codebase a sandbox sees, and how. Pure.
 *
 * A rule is `{ pattern, type, level, priority }`. Levels: `none` (absent: not listed, not
 * stat-able, not openable), `view` (listed and stat-able, contents unreadable), `read`, `write`.
 * Patterns are paths relative to the codebase root, `/`-separated:
 * - `file`: exactly that path (`src/main.ts`; a leading `/` is ignored).
 * - `directory`: that directory and everything under it (`secrets/`, `src/gen`). A name without a
 *   `/` inside (`secrets/`, `node_modules`) matches a directory of that name at any depth.
 * - `glob`: `*` (within a name), `?`, `**` (any number of names). A glob without a `/` matches the
 *   name at any depth (`*.pem`, `.env*`); `dir/**` matches `dir` itself too.
 *
 * Order (the first matching rule wins; no match means `none`): higher `priority` first; then by
 * type, `file` before `directory` before `glob`; then the more specific pattern (anchored with a
 * leading `/` or containing a `/`, not starting with `**`, a longer literal prefix); then the
 * order given.
 */

import { PERMISSION_LEVELS, RULE_TYPES, type PermissionLevel, type PermissionRule, type PresetName, type RuleType } from '../domain/workspace.js';

export { PERMISSION_LEVELS, PRESETS, RULE_TYPES, type PermissionLevel, type PermissionRule, type PresetName, type RuleType } from '../domain/workspace.js';

/** Hidden by `agent-safe` at priority 100, above anything a caller adds at the default priority. */
export const AGENT_SAFE_HIDDEN: PermissionRule[] = [
  { pattern: '.env*', type: 'glob', level: 'none', priority: 100 },
  { pattern: 'secrets/', type: 'directory', level: 'none', priority: 100 },
  { pattern: '*.key', type: 'glob', level: 'none', priority: 100 },
  { pattern: '*.pem', type: 'glob', level: 'none', priority: 100 },
  { pattern: '.git/', type: 'directory', level: 'none', priority: 100 },
];

/** The rules of a preset. `agent-safe` reads everything but secrets; callers add `write` rules. */
export function presetRules(name: PresetName): PermissionRule[] {
  switch (name) {
    case 'full':
      return [{ pattern: '**', type: 'glob', level: 'write', priority: 0 }];
    case 'read-only':
      return [{ pattern: '**', type: 'glob', level: 'read', priority: 0 }];
    case 'agent-safe':
      return [{ pattern: '**', type: 'glob', level: 'read', priority: 0 }, ...AGENT_SAFE_HIDDEN];
  }
}

/** A rule ready to match: type resolved, pattern normalised, compiled, with its sort key. */
export interface CompiledRule {
  rule: Required<PermissionRule>;
  index: number;
  specificity: number;
  matches(path: string): boolean;
}

const TYPE_RANK: Record<RuleType, number> = { file: 2, directory: 1, glob: 0 };

export function ruleType(rule: PermissionRule): RuleType {
  if (rule.type) return rule.type;
  if (/[*?]/.test(rule.pattern)) return 'glob';
  return rule.pattern.endsWith('/') ? 'directory' : 'file';
}

/** Returns a message when the rule is unusable (empty, `..`, unknown level), else undefined. */
export function checkRule(rule: PermissionRule): string | undefined {
  if (typeof rule.pattern !== 'string' || rule.pattern.trim() === '' || rule.pattern.length > 1024) return 'a rule pattern must be a non-empty string of at most 1024 characters';
  if (rule.pattern.split('/').includes('..')) return `rule pattern "${rule.pattern}" must not contain ".."`;
  if (!PERMISSION_LEVELS.includes(rule.level)) return `rule level must be one of ${PERMISSION_LEVELS.join(', ')}`;
  if (rule.type !== undefined && !RULE_TYPES.includes(rule.type)) return `rule type must be one of ${RULE_TYPES.join(', ')}`;
  if (rule.priority !== undefined && !Number.isInteger(rule.priority)) return 'rule priority must be an integer';
  return undefined;
}

function escapeRegex(s: string): string {
  return s.replace(/[.+^${}()|[\]\\]/g, '\\$&');
}

/** Glob → regex over a relative path (no leading `/`). */
export function globToRegex(glob: string): RegExp {
  let out = '';
  const parts = glob.split('/');
  parts.forEach((part, i) => {
    const last = i === parts.length - 1;
    if (part === '**') {
      // `a/**/b`: zero or more names; a trailing `**` also matches the directory itself.
      out += last ? (i === 0 ? '.*' : '(?:/.*)?') : i === 0 ? '(?:.*/)?' : '(?:/.*)?/';
      return;
    }
    if (i > 0 && parts[i - 1] !== '**') out += '/';
    out += part.split('').map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : escapeRegex(c))).join('');
  });
  return new RegExp(`^${out}$`);
}

function compileOne(rule: PermissionRule, index: number): CompiledRule {
  const type = ruleType(rule);
  const anchored = rule.pattern.startsWith('/');
  const body = rule.pattern.replace(/^\/+/, '').replace(/\/+$/, '');
  const slashInside = body.includes('/');
  const literalPrefix = body.split(/[*?]/)[0]!.length;
  let specificity = literalPrefix;
  if (type === 'file') specificity += 200;
  if (anchored || slashInside) specificity += 100;
  if (!body.startsWith('**')) specificity += 50;
  let matches: (path: string) => boolean;
  if (type === 'file') matches = (p) => p === body;
  else if (type === 'directory') {
    if (anchored || slashInside) matches = (p) => p === body || p.startsWith(`${body}/`);
    else matches = (p) => p.split('/').includes(body);
  } else {
    const re = globToRegex(anchored || slashInside || body.startsWith('**') ? body : `**/${body}`);
    matches = (p) => re.test(p);
  }
  return { rule: { pattern: rule.pattern, type, level: rule.level, priority: rule.priority ?? 0 }, index, specificity, matches };
}

/** Compiles and orders rules (see the module comment); the first match of the result wins. */
export function compileRules(rules: readonly PermissionRule[]): CompiledRule[] {
  return rules
    .map(compileOne)
    .sort((a, b) => b.rule.priority - a.rule.priority || TYPE_RANK[b.rule.type] - TYPE_RANK[a.rule.type] || b.specificity - a.specificity || a.index - b.index);
}

/** The level of a relative path (`src/a.ts`; `''` is the root) under compiled rules; default `none`. */
export function levelOf(rules: readonly CompiledRule[], path: string): PermissionLevel {
  for (const r of rules) if (r.matches(path)) return r.rule.level;
  return 'none';
}

/** The rules a workspace request stands for: its preset's (default `agent-safe` when it gives no rules) then its own. */
export function effectiveRules(request: { preset?: PresetName; rules?: PermissionRule[] }): PermissionRule[] {
  const preset = request.preset ?? (request.rules?.length ? undefined : 'agent-safe');
  return [...(preset ? presetRules(preset) : []), ...(request.rules ?? [])];
}
