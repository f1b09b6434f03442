/**
 * Conformance: port forwarding (`network.port_forward`) — `connectPort` reaches a service bound to
 * the sandbox's own loopback, carries bytes both ways and ends when the service closes; it refuses
 * a closed port, a sandbox that is not running and a bad port number with their stable codes, and
 * works from a new backend handle after adopt.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IsolationBackend } from '../../src/port/isolation-backend.js';
import { readAll, requires, sandboxSpec, withSandbox, type Suite } from './harness.js';

/** Ports the cases use inside the sandbox (its own network namespace: nothing else binds them). */
const SERVICE_PORT = 18_431;
const CLOSED_PORT = 18_432;

/**
 * The default line service: Perl (perl-base is in every Debian root and on the host), bound to
 * 127.0.0.1 only, answering one line per connection with `pong <line>`, then closing it. It prints
 * `ready` once listening, so the case waits on that event rather than polling the port.
 */
const PERL_SERVICE = [
  'use IO::Socket::INET; $| = 1;',
  'my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $ARGV[0], Listen => 16, ReuseAddr => 1) or die "listen: $!";',
  'print "ready\\n";',
  'while (my $c = $s->accept) { my $l = <$c>; print $c "pong $l"; close $c; }',
].join(' ');

/** Starts the line service in the sandbox (the backend's own hook when it has one) and waits until it listens. */
export async function startLineService(suite: Suite, backend: IsolationBackend, id: string, port: number): Promise<void> {
  if (suite.options.startLineService) return suite.options.startLineService(backend, id, port);
  const handle = await backend.exec(id, { cmd: 'perl', args: ['-e', PERL_SERVICE, String(port)] });
  let out = '';
  for await (const chunk of handle.output()) {
    out += Buffer.from(chunk.data).toString();
    if (out.includes('ready\n')) return;
  }
  throw new Error(`the line service exited before listening: ${out}`);
}

/** Sends one line through `connectPort` and returns everything the service answered before closing. */
async function exchange(backend: IsolationBackend, id: string, port: number, line: string): Promise<string> {
  const stream = await backend.connectPort!(id, port);
  try {
    stream.write(`${line}\n`);
    return (await readAll(stream)).toString();
  } finally {
    stream.destroy();
  }
}

export function portCases(suite: Suite): void {
  describe('ports', () => {
    it('carries bytes both ways to a service on the sandbox loopback, over concurrent connections', async (t) => {
      if (!requires(t, suite, 'network.port_forward')) return;
      const backend = suite.backend();
      await withSandbox(suite, async (id) => {
        await startLineService(suite, backend, id, SERVICE_PORT);
        const answers = await Promise.all(['one', 'two', 'three'].map((word) => exchange(backend, id, SERVICE_PORT, word)));
        assert.deepEqual(answers, ['pong one\n', 'pong two\n', 'pong three\n']);
        // The service keeps serving once earlier connections have ended.
        assert.equal(await exchange(backend, id, SERVICE_PORT, 'again'), 'pong again\n');
      });
    });

    it('reports a port nothing listens on as not_found, and a bad port number as bad_request', async (t) => {
      if (!requires(t, suite, 'network.port_forward')) return;
      const backend = suite.backend();
      await withSandbox(suite, async (id) => {
        await assert.rejects(backend.connectPort!(id, CLOSED_PORT), { code: 'not_found' });
        for (const port of [0, 65_536, 1.5]) await assert.rejects(backend.connectPort!(id, port), { code: 'bad_request' }, String(port));
      });
    });

    it('refuses a sandbox that is not running, and an unknown one', async (t) => {
      if (!requires(t, suite, 'network.port_forward')) return;
      const backend = suite.backend();
      const spec = sandboxSpec(suite);
      await backend.create(spec);
      try {
        await assert.rejects(backend.connectPort!(spec.id, SERVICE_PORT), { code: 'invalid_transition' });
      } finally {
        await backend.destroy(spec.id).catch(() => undefined);
      }
      await assert.rejects(backend.connectPort!('sbx_conf_missing', SERVICE_PORT), { code: 'sandbox_not_found' });
    });

    it('forwards a port of an adopted sandbox from a new backend handle', async (t) => {
      if (!requires(t, suite, 'network.port_forward', 'recovery.adopt')) return;
      const backend = suite.backend();
      const spec = sandboxSpec(suite);
      await backend.create(spec);
      const record = await backend.start(spec.id);
      const reopened = await suite.options.reopen();
      try {
        await startLineService(suite, backend, spec.id, SERVICE_PORT);
        assert.equal((await reopened.adopt(spec.id, record)).status, 'adopted');
        assert.equal(await exchange(reopened, spec.id, SERVICE_PORT, 'adopted'), 'pong adopted\n');
        assert.equal((await reopened.destroy(spec.id)).status, 'completed');
      } finally {
        await backend.destroy(spec.id).catch(() => undefined);
        await reopened.close();
      }
    });
  });
}
