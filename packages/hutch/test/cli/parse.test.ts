/** Unit tests of the CLI's value parsers and output formatting. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exitStatus } from '../../src/cli/commands/exec.js';
import { backendNames } from '../../src/cli/commands/serve.js';
import { UsageError } from '../../src/cli/errors.js';
import { formatAge, formatBytes, formatResources } from '../../src/cli/output.js';
import { collectKeyValue, parseCopyOperand, parseDurationMs, parseMemoryMib, parsePositiveInt } from '../../src/cli/parse.js';

describe('CLI parsers', () => {
  it('collects repeated KEY=VALUE pairs, keeping "=" inside values', () => {
    assert.deepEqual(collectKeyValue('B=x=y', collectKeyValue('A=1')), { A: '1', B: 'x=y' });
    assert.deepEqual(collectKeyValue('EMPTY='), { EMPTY: '' });
    assert.throws(() => collectKeyValue('novalue'), UsageError);
    assert.throws(() => collectKeyValue('=x'), UsageError);
  });

  it('parses durations, a bare number being seconds', () => {
    assert.equal(parseDurationMs('30'), 30_000);
    assert.equal(parseDurationMs('250ms'), 250);
    assert.equal(parseDurationMs('5m'), 300_000);
    assert.equal(parseDurationMs('1.5h'), 5_400_000);
    assert.throws(() => parseDurationMs('soon'), UsageError);
  });

  it('parses memory sizes into MiB, a bare number being MiB', () => {
    assert.equal(parseMemoryMib('512'), 512);
    assert.equal(parseMemoryMib('512m'), 512);
    assert.equal(parseMemoryMib('2g'), 2048);
    assert.equal(parseMemoryMib('1GiB'), 1024);
    assert.throws(() => parseMemoryMib('12k'), UsageError);
    assert.throws(() => parseMemoryMib('lots'), UsageError);
  });

  it('accepts only positive integers where counts are expected', () => {
    assert.equal(parsePositiveInt('3'), 3);
    assert.throws(() => parsePositiveInt('0'), UsageError);
    assert.throws(() => parsePositiveInt('1.5'), UsageError);
  });

  it('splits cp operands into sandbox and host sides', () => {
    assert.deepEqual(parseCopyOperand('sbxabc:/tmp/a.txt'), { kind: 'sandbox', sandboxId: 'sbxabc', path: '/tmp/a.txt' });
    assert.deepEqual(parseCopyOperand('./local:file'), { kind: 'host', path: './local:file' });
    assert.deepEqual(parseCopyOperand('/abs/path'), { kind: 'host', path: '/abs/path' });
    assert.deepEqual(parseCopyOperand('-'), { kind: 'host', path: '-' });
    assert.throws(() => parseCopyOperand('sbxabc:'), UsageError);
  });

  it('checks the serve backend list', () => {
    assert.deepEqual(backendNames('fake, process,fake'), ['fake', 'process']);
    assert.throws(() => backendNames('qemu'), UsageError);
    assert.throws(() => backendNames(' , '), UsageError);
  });

  it('maps exits to shell exit statuses', () => {
    assert.equal(exitStatus({ exitCode: 3, signal: null }), 3);
    assert.equal(exitStatus({ exitCode: null, signal: 'SIGKILL' }), 137);
    assert.equal(exitStatus({ exitCode: null, signal: null }), 1);
  });
});

describe('CLI output', () => {
  it('formats ages, sizes and resources for people', () => {
    const now = new Date('2025-01-01T12:00:00Z');
    assert.equal(formatAge('2025-01-01T11:59:30Z', now), '30s');
    assert.equal(formatAge('2025-01-01T11:00:00Z', now), '1h');
    assert.equal(formatAge('2024-12-30T12:00:00Z', now), '2d');
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatResources({}), '-');
    assert.equal(formatResources({ vcpus: 2, memoryMib: 512 }), '2 vcpu, 512 MiB');
  });
});
