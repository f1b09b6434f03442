import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BASE_RECIPE, recipeDigest, validateRecipe } from './recipe.js';
import { runArgv } from './steps.js';

describe('template recipes', () => {
  it('accepts the base recipe and refuses malformed ones with the field named', () => {
    validateRecipe(BASE_RECIPE);
    assert.throws(() => validateRecipe({ name: 'Bad Name', from: { template: 'base' } }), { code: 'bad_request', details: { field: 'name' } });
    assert.throws(() => validateRecipe({ name: 'a', from: { template: 'a' } }), { code: 'bad_request', details: { field: 'from' } });
    assert.throws(() => validateRecipe({ name: 'a', from: { template: 'base' }, steps: [{ workdir: 'rel' }] }), { code: 'bad_request', details: { field: 'steps[0]' } });
    assert.throws(() => validateRecipe({ name: 'a', from: { template: 'base' }, steps: [{ copy: { dest: '/x' } }] }), { code: 'bad_request' });
  });

  it('addresses recipes by content: the same steps on the same parent give the same digest', () => {
    const a = recipeDigest({ name: 'one', from: { template: 'base' }, steps: [{ run: 'true' }] }, 'p1');
    const b = recipeDigest({ name: 'two', from: { template: 'base' }, steps: [{ run: 'true' }] }, 'p1');
    assert.equal(a, b, 'the name is not part of the content');
    assert.notEqual(a, recipeDigest({ name: 'one', from: { template: 'base' }, steps: [{ run: 'false' }] }, 'p1'));
    assert.notEqual(a, recipeDigest({ name: 'one', from: { template: 'base' }, steps: [{ run: 'true' }] }, 'p2'));
  });

  it('runs build commands in a user namespace chrooted into the template, as the current user', () => {
    const argv = runArgv('/data/rootfs', 'make', { env: { A: '1' }, workdir: '/src', user: 'user' });
    assert.equal(argv[0], '/usr/bin/perl');
    assert.ok(argv.includes('100000'), 'maps into the sandbox id range');
    assert.ok(argv.includes('--root=/data/rootfs'));
    assert.ok(argv.includes('--wd=/src'));
    assert.ok(argv.includes('--reuid=user'));
    assert.deepEqual(argv.slice(-3), ['/bin/sh', '-c', 'make']);
    assert.ok(argv.includes('A=1'));
  });
});
