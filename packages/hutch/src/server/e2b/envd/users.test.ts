import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { permissionString } from './entries.js';
import { endEvent } from './process-service.js';
import { basicAuthUser, homeOf, resolveUserPath } from './users.js';

describe('envd users, paths and events', () => {
  it('reads the user of Basic auth ("<user>:")', () => {
    assert.equal(basicAuthUser(`Basic ${Buffer.from('root:').toString('base64')}`), 'root');
    assert.equal(basicAuthUser(`Basic ${Buffer.from('user').toString('base64')}`), 'user');
    assert.equal(basicAuthUser('Bearer x'), undefined);
    assert.equal(basicAuthUser(undefined), undefined);
  });

  it('resolves relative and ~ paths against the home', () => {
    assert.equal(homeOf('root'), '/root');
    assert.equal(resolveUserPath('a/b.txt', '/home/user'), '/home/user/a/b.txt');
    assert.equal(resolveUserPath('~/x', '/home/user'), '/home/user/x');
    assert.equal(resolveUserPath('', '/home/user'), '/home/user');
    assert.equal(resolveUserPath('/tmp/../etc', '/home/user'), '/etc');
  });

  it('formats permissions like ls', () => {
    assert.equal(permissionString('file', 0o644), '-rw-r--r--');
    assert.equal(permissionString('dir', 0o755), 'drwxr-xr-x');
  });

  it('words end events as envd does', () => {
    assert.deepEqual(endEvent({ exitCode: 0, signal: null, reason: 'exited' }), { event: { case: 'end', value: { exitCode: 0, exited: true, status: 'exit status 0' } } });
    assert.deepEqual(endEvent({ exitCode: 1, signal: null, reason: 'exited' }), { event: { case: 'end', value: { exitCode: 1, exited: true, status: 'exit status 1', error: 'exit status 1' } } });
    assert.deepEqual(endEvent({ exitCode: null, signal: 'SIGKILL', reason: 'signaled' }), { event: { case: 'end', value: { exitCode: -1, exited: false, status: 'signal: killed', error: 'signal: killed' } } });
  });
});
