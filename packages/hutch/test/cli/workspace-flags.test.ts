import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRule, workspaceFromFlags } from '../../src/cli/commands/workspace.js';
import { UsageError } from '../../src/cli/errors.js';

describe('hutch create workspace flags', () => {
  it('parses pattern=level and pattern=level@priority, splitting at the last "="', () => {
    assert.deepEqual(parseRule('src/=write'), { pattern: 'src/', level: 'write' });
    assert.deepEqual(parseRule('*.log=none'), { pattern: '*.log', level: 'none' });
    assert.deepEqual(parseRule('docs/plan.md=view@10'), { pattern: 'docs/plan.md', level: 'view', priority: 10 });
    assert.deepEqual(parseRule('a=b.txt=read@-5'), { pattern: 'a=b.txt', level: 'read', priority: -5 });
    for (const bad of ['src/', '=write', 'src/=admin', 'src/=write@x']) assert.throws(() => parseRule(bad), UsageError, bad);
  });

  it('builds the workspace request only with --codebase', () => {
    assert.equal(workspaceFromFlags({}), undefined);
    assert.deepEqual(workspaceFromFlags({ codebase: 'app' }), { codebase: 'app' });
    assert.deepEqual(workspaceFromFlags({ codebase: 'app', preset: 'read-only', rule: [{ pattern: 'src/', level: 'write' }], workspacePath: '/code' }), {
      codebase: 'app', path: '/code', preset: 'read-only', rules: [{ pattern: 'src/', level: 'write' }],
    });
    assert.throws(() => workspaceFromFlags({ preset: 'full' }), UsageError);
  });
});
