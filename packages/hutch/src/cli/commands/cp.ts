/**
 * `hutch cp <src> <dst>`: copy a file between the host and a sandbox (or two sandboxes), streamed
 * both ways. A sandbox side is written `<sandbox-id>:/path`; `-` is stdin or stdout. A destination
 * that is a directory (or ends with `/`) receives the file under its own name.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { Sandbox } from '@hutch/sdk';
import type { Command } from 'commander';
import { openSandbox } from '../context.js';
import { UsageError } from '../errors.js';
import { formatBytes } from '../output.js';
import { parseCopyOperand, type CopyOperand } from '../parse.js';

type SandboxSide = Extract<CopyOperand, { kind: 'sandbox' }>;

export function registerCpCommand(program: Command): void {
  program
    .command('cp')
    .description('copy a file between the host and a sandbox: hutch cp ./a.txt <id>:/tmp/a.txt, hutch cp <id>:/tmp/out.log -')
    .argument('<src>', 'source: a host path, `-` (stdin) or <id>:/path')
    .argument('<dst>', 'destination: a host path, `-` (stdout) or <id>:/path')
    .option('-q, --quiet', 'print nothing on success')
    .action(async (srcText: string, dstText: string, flags: { quiet?: boolean }, command: Command) => {
      const src = parseCopyOperand(srcText);
      const dst = parseCopyOperand(dstText);
      if (src.kind === 'host' && dst.kind === 'host') throw new UsageError('one side of cp must be in a sandbox (<id>:/path)');
      let written: number | undefined;
      if (src.kind === 'host' && dst.kind === 'sandbox') written = await upload(command, src.path, dst);
      else if (src.kind === 'sandbox' && dst.kind === 'host') written = await download(command, src, dst.path);
      else if (src.kind === 'sandbox' && dst.kind === 'sandbox') written = await between(command, src, dst);
      if (!flags.quiet && written !== undefined && !(dst.kind === 'host' && dst.path === '-')) process.stderr.write(`copied ${formatBytes(written)} to ${dstText}\n`);
    });
}

async function upload(command: Command, hostPath: string, dst: SandboxSide): Promise<number> {
  const sandbox = await openSandbox(command, dst.sandboxId);
  if (hostPath === '-') return (await sandbox.files.write(dst.path, process.stdin)).size;
  const info = await stat(hostPath);
  if (info.isDirectory()) throw new UsageError(`${hostPath} is a directory; cp copies single files`);
  const target = await sandboxTarget(sandbox, dst.path, basename(hostPath));
  const entry = await sandbox.files.write(target, createReadStream(hostPath), { mode: info.mode & 0o777 });
  return entry.size;
}

async function download(command: Command, src: SandboxSide, hostPath: string): Promise<number> {
  const sandbox = await openSandbox(command, src.sandboxId);
  const target = hostPath === '-' ? undefined : await hostTarget(hostPath, posix.basename(src.path));
  const body = await sandbox.files.read(src.path, { format: 'stream' });
  let bytes = 0;
  const count = async function* (source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      bytes += chunk.length;
      yield chunk;
    }
  };
  const input = Readable.fromWeb(body as unknown as NodeReadableStream<Uint8Array>);
  if (target === undefined) await pipeline(input, count, process.stdout, { end: false });
  else await pipeline(input, count, createWriteStream(target));
  return bytes;
}

async function between(command: Command, src: SandboxSide, dst: SandboxSide): Promise<number> {
  const from = await openSandbox(command, src.sandboxId);
  const to = dst.sandboxId === src.sandboxId ? from : await openSandbox(command, dst.sandboxId);
  const body = await from.files.read(src.path, { format: 'stream' });
  const target = await sandboxTarget(to, dst.path, posix.basename(src.path));
  return (await to.files.write(target, body)).size;
}

/** `dir/` or an existing directory in the sandbox gets `name` appended. */
async function sandboxTarget(sandbox: Sandbox, path: string, name: string): Promise<string> {
  if (path.endsWith('/')) return posix.join(path, name);
  const exists = await sandbox.files.exists(path);
  if (exists && (await sandbox.files.stat(path)).type === 'dir') return posix.join(path, name);
  return path;
}

/** `dir/` or an existing host directory gets `name` appended. */
async function hostTarget(path: string, name: string): Promise<string> {
  if (path.endsWith('/')) return join(path, name);
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  return info?.isDirectory() ? join(path, name) : path;
}
