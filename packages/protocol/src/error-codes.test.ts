import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR_CODES, HTTP_STATUS, isErrorCode } from './error-codes.js';

describe('error codes', () => {
  it('gives every code an HTTP error status', () => {
    for (const code of ERROR_CODES) {
      assert.ok(HTTP_STATUS[code] >= 400 && HTTP_STATUS[code] < 600, code);
      assert.match(code, /^[a-z]+(_[a-z]+)*$/);
    }
    assert.deepEqual(Object.keys(HTTP_STATUS).sort(), [...ERROR_CODES].sort());
  });

  it('recognises known codes only', () => {
    assert.ok(isErrorCode('sandbox_not_found'));
    assert.ok(!isErrorCode('nope'));
  });
});
