/**
 * Codebase commands (docs/workspaces.md). `codebase add <name> <dir|tarball>` packs a directory of
 * this machine with `tar` and streams it to the server (`POST /v1/codebases`), so it works with a
 * remote server too; `--local` instead copies the directory straight into a data directory on this
 * machine (no server needed; root, like `template import`). Also `codebase ls`, `get`, `rm`, and
 * `codebase cat` / `put` / `files` for single files.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Codebases, type CodebaseInfo, type FileEntry } from '@hutch/sdk';
import type { Command } from 'commander';
import { defaultDataDir } from '../../server/data-dir.js';
import { CodebaseStore } from '../../workspaces/codebase-store.js';
import { addDeleteCommand, connectionOf } from '../context.js';
import { UsageError } from '../errors.js';
import { formatAge, formatBytes, printJson, printTable, writeAll } from '../output.js';
import { parsePositiveInt } from '../parse.js';
import { withSpinner } from '../spinner.js';

const TARBALL = /\.(tar|tgz|tar\.gz|tar\.xz|tar\.zst|tar\.bz2)$/;
const collect = (value: string, previous: string[] = []) => [...previous, value];
const wantsJson = (command: Command) => command.optsWithGlobals<{ json?: boolean }>().json === true;

interface AddFlags {
  exclude: string[];
  local?: boolean;
  dataDir?: string;
  json?: boolean;
}

export function registerCodebaseCommands(program: Command): void {
  const codebase = program.command('codebase').description('manage codebases that sandboxes mount as workspaces (add, ls, get, rm, files, cat, put)');

  codebase
    .command('add')
    .description('add a directory (packed with tar and uploaded) or a tarball as a codebase, and print its id')
    .argument('<name>', 'codebase name (a-z, 0-9, ".", "_", "-")')
    .argument('<source>', 'a directory, or a .tar / .tar.gz file')
    .option('--exclude <pattern>', 'leave out paths matching this tar pattern, e.g. node_modules (repeatable)', collect, [])
    .option('--local', 'copy the directory into the data directory on this machine instead of uploading (no server needed)')
    .option('-d, --data-dir <dir>', 'with --local: data directory (default as for serve)')
    .option('--json', 'print the codebase as JSON')
    .action(async (name: string, source: string, _flags: unknown, command: Command) => {
      const flags = command.opts<AddFlags>();
      const path = resolve(source);
      const isDir = (await stat(path).catch(() => undefined))?.isDirectory();
      if (isDir === undefined) throw new UsageError(`${source}: no such file or directory`);
      let info: CodebaseInfo;
      if (flags.local) {
        if (!isDir) throw new UsageError('--local takes a directory');
        info = await new CodebaseStore(resolve(flags.dataDir ?? defaultDataDir())).addDirectory(path, name);
      } else {
        if (!isDir && !TARBALL.test(path)) throw new UsageError(`${source}: expected a directory or a tarball (.tar, .tar.gz, …)`);
        const archive = isDir ? packDirectory(path, flags.exclude) : createReadStream(path);
        info = await withSpinner(`uploading ${name}`, () => Codebases.upload(name, archive, connectionOf(command)));
      }
      if (flags.json) printJson(info);
      else process.stdout.write(`${info.id}\n`);
    });

  codebase
    .command('ls')
    .alias('list')
    .description('list codebases')
    .option('--json', 'print JSON')
    .action(async (_flags: unknown, command: Command) => {
      const items = await Codebases.list(connectionOf(command));
      if (wantsJson(command)) return printJson(items);
      const now = new Date();
      printTable(['ID', 'NAME', 'SIZE', 'FILES', 'UPDATED'], items.map((c) => [c.id, c.name, formatBytes(c.sizeBytes), String(c.fileCount), formatAge(c.updatedAt, now)]));
    });

  codebase
    .command('get')
    .alias('info')
    .description('show one codebase (by id or name) as JSON')
    .argument('<codebase>', 'codebase id or name')
    .action(async (id: string, _flags: unknown, command: Command) => printJson(await Codebases.get(id, connectionOf(command))));

  addDeleteCommand(codebase, { description: 'delete codebases (sandboxes using one keep their workspace but cannot commit)', argument: '<codebases...>', argumentHelp: 'codebase ids or names' }, (id, connection) => Codebases.delete(id, connection));

  codebase
    .command('files')
    .description('list a directory of a codebase')
    .argument('<codebase>', 'codebase id or name')
    .argument('[path]', 'directory inside the codebase', '/')
    .option('--depth <n>', 'levels to descend', parsePositiveInt, 1)
    .option('--json', 'print JSON')
    .action(async (id: string, path: string, _flags: unknown, command: Command) => {
      const { depth } = command.opts<{ depth: number }>();
      const entries = await Codebases.listFiles(id, path, { ...connectionOf(command), depth });
      if (wantsJson(command)) return printJson(entries);
      printTable(['TYPE', 'SIZE', 'PATH'], entries.map((e: FileEntry) => [e.type, e.type === 'file' ? formatBytes(e.size) : '-', e.path]));
    });

  codebase
    .command('cat')
    .description('print a file of a codebase on stdout')
    .argument('<codebase>', 'codebase id or name')
    .argument('<path>', 'file inside the codebase')
    .action(async (id: string, path: string, _flags: unknown, command: Command) => {
      const stream = await Codebases.readFile(id, path, { ...connectionOf(command), format: 'stream' });
      for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) await writeAll(process.stdout, chunk);
    });

  codebase
    .command('put')
    .description('write a host file (or stdin with -) into a codebase')
    .argument('<codebase>', 'codebase id or name')
    .argument('<src>', 'host file, or - for stdin')
    .argument('<path>', 'path inside the codebase')
    .action(async (id: string, src: string, path: string, _flags: unknown, command: Command) => {
      const input = src === '-' ? process.stdin : createReadStream(src);
      const entry = await Codebases.writeFile(id, path, input as AsyncIterable<Uint8Array>, connectionOf(command));
      process.stderr.write(`wrote ${formatBytes(entry.size)} to ${id}:${entry.path}\n`);
    });
}

/** `tar -c` of a directory as a stream that fails when tar fails (so the upload is abandoned). */
async function* packDirectory(dir: string, exclude: string[]): AsyncGenerator<Uint8Array, void, undefined> {
  const child = spawn('tar', ['-c', '-f', '-', ...exclude.map((p) => `--exclude=${p}`), '-C', dir, '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
  const closed = new Promise<number | null>((done, fail) => {
    child.once('error', fail);
    child.once('close', done);
  });
  try {
    yield* child.stdout as AsyncIterable<Uint8Array>;
    const code = await closed;
    if (code !== 0) throw new Error(`tar failed (exit code ${code}): ${stderr.trim()}`);
  } finally {
    if (child.exitCode === null) child.kill();
  }
}

