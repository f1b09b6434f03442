import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileRules, effectiveRules, globToRegex, levelOf, presetRules } from './rules.js';

describe('workspace rules', () => {
  it('matches globs by name at any depth, anchored globs from the root, `dir/**` including dir', () => {
    assert.ok(globToRegex('**/*.pem').test('a/b/c.pem'));
    assert.ok(globToRegex('**/*.pem').test('c.pem'));
    assert.ok(globToRegex('src/**').test('src'));
    assert.ok(globToRegex('src/**').test('src/a/b'));
    assert.ok(!globToRegex('src/*').test('src/a/b'));
    assert.ok(globToRegex('a/**/b').test('a/b') && globToRegex('a/**/b').test('a/x/y/b'));
    const rules = compileRules([{ pattern: '*.key', level: 'none' }, { pattern: '/top.txt', level: 'read' }, { pattern: '**', level: 'write', priority: -1 }]);
    assert.equal(levelOf(rules, 'deep/dir/x.key'), 'none');
    assert.equal(levelOf(rules, 'top.txt'), 'read');
    assert.equal(levelOf(rules, 'sub/top.txt'), 'write');
  });

  it('defaults to none when nothing matches', () => {
    assert.equal(levelOf(compileRules([{ pattern: 'src/', level: 'write' }]), 'README.md'), 'none');
  });

  it('orders by priority, then file > directory > glob, then specificity', () => {
    const rules = compileRules([
      { pattern: '**', level: 'read' },
      { pattern: 'docs/', level: 'write' },
      { pattern: 'docs/guide.md', level: 'none' },
      { pattern: 'docs/api/', level: 'view' },
      { pattern: 'private/', level: 'none', priority: 5 },
      { pattern: 'private/ok.txt', level: 'read', priority: 1 },
      { pattern: 'private/pinned.txt', level: 'read', priority: 10 },
    ]);
    assert.equal(levelOf(rules, 'docs/index.md'), 'write', 'directory beats glob');
    assert.equal(levelOf(rules, 'docs/guide.md'), 'none', 'file beats directory');
    assert.equal(levelOf(rules, 'docs/api/x.md'), 'view', 'the longer directory is more specific');
    assert.equal(levelOf(rules, 'private/ok.txt'), 'none', 'priority beats type');
    assert.equal(levelOf(rules, 'private/pinned.txt'), 'read');
  });

  it('agent-safe reads everything but secrets, even where a caller allows writing', () => {
    const rules = compileRules(effectiveRules({ rules: [], preset: 'agent-safe' }).concat({ pattern: 'src/', level: 'write' }));
    for (const hidden of ['.env', 'src/.env.local', 'secrets/a', 'a/secrets/b', 'x.key', 'src/cert.pem', '.git/config', 'sub/.git/HEAD']) assert.equal(levelOf(rules, hidden), 'none', hidden);
    assert.equal(levelOf(rules, 'README.md'), 'read');
    assert.equal(levelOf(rules, 'src/main.ts'), 'write');
    assert.equal(levelOf(compileRules(presetRules('full')), 'a/b'), 'write');
    assert.equal(levelOf(compileRules(presetRules('read-only')), 'a/b'), 'read');
    assert.deepEqual(effectiveRules({}), presetRules('agent-safe'), 'no preset and no rules means agent-safe');
  });
});
