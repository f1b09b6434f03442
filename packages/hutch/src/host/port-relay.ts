/**
 * A TCP connection into a sandbox's network namespace, for the port proxy. Node cannot `setns` one
 * of its own threads, so a tiny relay runs as a child: `nsenter -t <init pid> -n` joins only the
 * network namespace of the sandbox's init (the relay keeps the host's filesystem, so the host's own
 * Node runs it and nothing inside the sandbox is trusted), connects to the sandbox's loopback and
 * copies bytes between the socket and its stdin/stdout. It reports `ok` or the errno on fd 3 once
 * the connection is up or has failed, so callers can tell "nothing listens there" apart.
 * One relay per connection; it exits when either side closes, and is killed when the returned
 * stream is destroyed.
 */
import { spawn } from 'node:child_process';
import { Duplex, type Readable, type Writable } from 'node:stream';

/** The relay, run by `node -e` inside the sandbox's network namespace. argv: <port>. */
export const RELAY_SCRIPT = String.raw`
const net = require('node:net');
const fs = require('node:fs');
const port = Number(process.argv[1]);
const report = (line) => { try { fs.writeSync(3, line + '\n'); fs.closeSync(3); } catch {} };
// stdout is a pipe, written asynchronously: exit only once what was written has been flushed.
const done = () => process.stdout.write('', () => process.exit(0));
const attempt = (hosts) => {
  let connected = false;
  const s = net.connect({ port, host: hosts[0] });
  s.once('error', (e) => {
    if (connected) return done();
    if (hosts.length > 1 && e.code === 'ECONNREFUSED') return attempt(hosts.slice(1));
    report(e.code || 'EIO');
    process.exit(3);
  });
  s.once('connect', () => {
    connected = true;
    report('ok');
    process.stdin.pipe(s);
    s.pipe(process.stdout);
    s.once('close', done);
  });
};
attempt(['127.0.0.1', '::1']);
`;

export interface NetnsConnectOptions {
  /** Host pid of a process in the sandbox's network namespace (its init). */
  pid: number;
  port: number;
  nsenterPath: string;
  /** The Node binary that runs the relay (default: this process's). */
  nodePath?: string;
  signal?: AbortSignal;
}

/** Thrown when the relay could not connect; `errno` is e.g. `ECONNREFUSED`. */
export class RelayConnectError extends Error {
  constructor(readonly errno: string) {
    super(`connection into the sandbox failed: ${errno}`);
  }
}

/** The argv of one relay (pure). */
export function planRelayArgv(options: Pick<NetnsConnectOptions, 'pid' | 'port' | 'nsenterPath' | 'nodePath'>): string[] {
  return [options.nsenterPath, '-t', String(options.pid), '-n', '--', options.nodePath ?? process.execPath, '-e', RELAY_SCRIPT, String(options.port)];
}

/**
 * Connects to `port` on the loopback of the network namespace of `pid`. Resolves once connected;
 * rejects with `RelayConnectError` (nothing listens, unreachable) or the spawn error.
 */
export async function connectInNetns(options: NetnsConnectOptions): Promise<Duplex> {
  const argv = planRelayArgv(options);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'ignore', 'pipe'], env: { PATH: '/usr/bin:/bin' }, cwd: '/' });
  const status = child.stdio[3] as Readable;
  const outcome = await new Promise<string>((resolve) => {
    let text = '';
    status.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\n')) resolve(text.trim());
    });
    status.once('end', () => resolve(text.trim() || 'EIO'));
    child.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'ENOEXEC'));
    options.signal?.addEventListener('abort', () => resolve('ECANCELED'), { once: true });
  });
  status.destroy();
  if (outcome !== 'ok') {
    child.kill('SIGKILL');
    throw new RelayConnectError(outcome);
  }
  const stream = Duplex.from({ readable: child.stdout as Readable, writable: child.stdin as Writable });
  child.stdin!.on('error', () => undefined);
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  stream.once('close', stop);
  child.once('exit', () => {
    // The relay is gone (the service closed or the sandbox died): end the stream once drained.
    if (!stream.readableEnded) child.stdout!.once('end', () => stream.destroy());
  });
  return stream;
}
