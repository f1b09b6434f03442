import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planLayout, type TreeEntry } from './layout.js';
import { compileRules } from './rules.js';

const tree: TreeEntry[] = [
  { path: 'README.md', type: 'file', size: 5 },
  { path: 'secrets', type: 'dir', size: 0 },
  { path: 'secrets/a', type: 'file', size: 1 },
  { path: 'secrets/public', type: 'file', size: 1 },
  { path: 'src', type: 'dir', size: 0 },
  { path: 'src/gen', type: 'dir', size: 0 },
  { path: 'src/gen/x', type: 'file', size: 1 },
  { path: 'src/main.ts', type: 'file', size: 1 },
  { path: 'src/lock.json', type: 'file', size: 1 },
  { path: 'plan.md', type: 'file', size: 9 },
  { path: 'fifo', type: 'other', size: 0 },
];

describe('workspace layout planning', () => {
  it('leaves hidden entries out, keeps a hidden directory holding something shown, and nests binds by level', () => {
    const layout = planLayout(tree, compileRules([
      { pattern: '**', level: 'read' },
      { pattern: 'secrets/', level: 'none', priority: 1 },
      { pattern: 'secrets/public', level: 'read', priority: 2 },
      { pattern: 'src/', level: 'write' },
      { pattern: 'src/gen/', level: 'read' },
      { pattern: 'src/lock.json', level: 'read' },
      { pattern: 'plan.md', level: 'view' },
    ]));
    assert.deepEqual(layout.entries.map((e) => e.path), ['README.md', 'plan.md', 'secrets', 'src', 'secrets/public', 'src/gen', 'src/lock.json', 'src/main.ts', 'src/gen/x']);
    assert.equal(layout.entries.find((e) => e.path === 'plan.md')!.placeholder, true);
    assert.equal(layout.entries.find((e) => e.path === 'secrets')!.level, 'read');
    assert.deepEqual(layout.mounts, [
      { path: '', writable: false },
      { path: 'src', writable: true },
      { path: 'src/gen', writable: false },
      { path: 'src/lock.json', writable: false },
    ]);
  });

  it('mounts one writable root for `full` and hides everything under `none`', () => {
    assert.deepEqual(planLayout(tree, compileRules([{ pattern: '**', level: 'write' }])).mounts, [{ path: '', writable: true }]);
    const none = planLayout(tree, compileRules([]));
    assert.deepEqual(none.entries, []);
    assert.equal(none.rootLevel, 'none');
  });
});
