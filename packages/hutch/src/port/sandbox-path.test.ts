import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeSandboxPath, sandboxBasename, sandboxDirname } from './sandbox-path.js';

describe('sandbox paths', () => {
  it('normalises absolute and relative paths', () => {
    assert.equal(normalizeSandboxPath('/workspace//a/./b/'), '/workspace/a/b');
    assert.equal(normalizeSandboxPath('a/b', '/workspace'), '/workspace/a/b');
    assert.equal(normalizeSandboxPath('/'), '/');
  });

  it('refuses .. anywhere, NUL bytes and empty paths', () => {
    for (const bad of ['..', '/workspace/../etc', 'a/../../b', '/a/b/..', 'x\0y', '']) {
      assert.throws(() => normalizeSandboxPath(bad), { code: 'path_escape' }, bad);
    }
  });

  it('splits dirname and basename', () => {
    assert.equal(sandboxDirname('/a/b/c'), '/a/b');
    assert.equal(sandboxDirname('/a'), '/');
    assert.equal(sandboxBasename('/a/b/c'), 'c');
  });
});
