/**
 * `hutch shell <id>`: an interactive terminal in a sandbox. Starts a shell under a PTY sized like
 * this terminal, bridges it over the PTY WebSocket (raw stdin in, output out, resize on SIGWINCH),
 * restores the terminal when it ends, and exits with the shell's exit code.
 */
import type { Sandbox } from '@hutch/sdk';
import type { Command } from 'commander';
import { WebSocket, type RawData } from 'ws';
import { openSandbox } from '../context.js';
import { collectKeyValue } from '../parse.js';
import { exitStatus } from './exec.js';

/** Prefer bash (as a login shell) and fall back to sh. */
const DEFAULT_SHELL = 'if command -v bash >/dev/null 2>&1; then exec bash -l; fi; exec sh -l';

export function registerShellCommand(program: Command): void {
  program
    .command('shell')
    .description('open an interactive shell (PTY) in a sandbox')
    .argument('<id>', 'sandbox id')
    .argument('[command]', 'run this instead of a login shell')
    .option('-C, --cwd <dir>', 'working directory')
    .option('-e, --env <KEY=VALUE>', 'environment variable (repeatable)', collectKeyValue)
    .option('-u, --user <user>', 'run as this user')
    .action(async (id: string, line: string | undefined, flags: { cwd?: string; env?: Record<string, string>; user?: string }, command: Command) => {
      const sandbox = await openSandbox(command, id);
      const size = terminalSize();
      const handle = await sandbox.commands.run(line ?? DEFAULT_SHELL, {
        background: true,
        pty: size,
        keepStdinOpen: true,
        env: { TERM: process.env.TERM ?? 'xterm-256color', ...flags.env },
        ...(flags.cwd ? { cwd: flags.cwd } : {}),
        ...(flags.user ? { user: flags.user } : {}),
        tag: 'shell',
      });
      const wsExit = await bridge(sandbox, handle.pid);
      const exit = wsExit ?? (await sandbox.commands.get(handle.pid)).exit;
      process.exitCode = exit ? exitStatus(exit) : 0;
    });
}

function terminalSize(): { cols: number; rows: number } {
  return { cols: process.stdout.columns || 80, rows: process.stdout.rows || 24 };
}

type Exit = { exitCode: number | null; signal: string | null };

/** Connects the terminal to the PTY until the socket closes; returns the exit if the server sent it. */
async function bridge(sandbox: Sandbox, pid: number): Promise<Exit | undefined> {
  const { url, headers } = sandbox.commands.ptyEndpoint(pid);
  const socket = new WebSocket(url, { headers });
  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  let exit: Exit | undefined;
  const onInput = (chunk: Buffer) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(chunk, { binary: true });
  };
  const onResize = () => {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'resize', ...terminalSize() }));
  };
  // Listeners go on before the handshake ends: output sent with the upgrade response is
  // emitted in the same tick as `open`, before any awaited continuation could attach them.
  socket.on('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) process.stdout.write(toBuffer(data));
    else exit = controlMessage(toBuffer(data).toString('utf8')) ?? exit;
  });
  const closed = new Promise<void>((resolve, reject) => {
    socket.once('close', () => resolve());
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`the server refused the terminal connection (HTTP ${res.statusCode ?? '?'})`)));
  });
  try {
    await Promise.race([new Promise<void>((resolve) => socket.once('open', resolve)), closed]);
    if (raw) stdin.setRawMode(true);
    stdin.on('data', onInput);
    stdin.resume();
    process.stdout.on('resize', onResize);
    await closed;
    return exit;
  } finally {
    stdin.off('data', onInput);
    process.stdout.off('resize', onResize);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
    if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.terminate();
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Text frames from the server: `{"type":"exit",…}` ends the session; `error` is printed. */
function controlMessage(text: string): Exit | undefined {
  let message: { type?: string; exitCode?: number | null; signal?: string | null; message?: string; code?: string };
  try {
    message = JSON.parse(text) as typeof message;
  } catch (err) {
    process.stderr.write(`\r\nhutch: unreadable message from the server (${(err as Error).message})\r\n`);
    return undefined;
  }
  if (message.type === 'exit') return { exitCode: message.exitCode ?? null, signal: message.signal ?? null };
  if (message.type === 'error') process.stderr.write(`\r\nerror: ${message.message ?? 'terminal error'} (${message.code ?? 'internal'})\r\n`);
  return undefined;
}
