import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertStateIn, assertTransition, canTransition, SANDBOX_STATES, TRANSITIONS } from './sandbox-state.js';

describe('sandbox state table', () => {
  it('allows the documented moves and nothing out of a tombstone', () => {
    assert.ok(canTransition('creating', 'running'));
    assert.ok(canTransition('running', 'paused'));
    assert.ok(canTransition('paused', 'running'));
    assert.ok(canTransition('stopped', 'running'));
    assert.ok(!canTransition('paused', 'stopped'));
    assert.deepEqual(TRANSITIONS.destroyed, []);
    for (const s of SANDBOX_STATES) if (s !== 'destroyed') assert.ok(canTransition(s, 'destroyed'), `${s} → destroyed`);
  });

  it('throws invalid_transition carrying from, to and the operation', () => {
    assert.throws(() => assertTransition('paused', 'paused', 'pause'), { code: 'invalid_transition', from: 'paused', to: 'paused', message: 'Cannot pause: the sandbox is paused.' });
    assert.throws(() => assertStateIn('stopped', ['running'], 'exec in'), { code: 'invalid_transition', details: { from: 'stopped', to: 'running', operation: 'exec in' } });
  });
});
