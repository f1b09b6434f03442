/**
 * Host operations of the template builder: run a command (collecting its output as log lines),
 * shift a tree's ownership into the sandbox id range, measure a tree, copy trees.
 */
import { spawn } from 'node:child_process';
import { chmod, lchown, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BackendFailureError } from '../domain/errors.js';
import { USERNS_HOST_BASE, USERNS_SIZE } from '../domain/user-namespace.js';

export type LogSink = (line: string) => void;

/** Runs argv, streaming stdout/stderr lines to `log`; rejects with a redacted error on failure. */
export function runLogged(argv: string[], log: LogSink, options: { env?: NodeJS.ProcessEnv; cwd?: string; signal?: AbortSignal; stdio3?: number } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const stdio: Array<'ignore' | 'pipe' | number> = ['ignore', 'pipe', 'pipe'];
    if (options.stdio3 !== undefined) stdio.push(options.stdio3);
    const child = spawn(argv[0]!, argv.slice(1), { env: options.env ?? process.env, cwd: options.cwd, stdio, ...(options.signal ? { signal: options.signal } : {}) });
    let tail = '';
    const onData = (data: Buffer) => {
      const text = tail + data.toString();
      const lines = text.split('\n');
      tail = lines.pop() ?? '';
      for (const line of lines) log(line);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('error', (err) => reject(new BackendFailureError(`Could not start ${argv[0]}: ${(err as NodeJS.ErrnoException).code ?? err.message}.`, undefined, { cause: err })));
    child.on('close', (code, signal) => {
      if (tail) log(tail);
      if (code === 0) resolve();
      else reject(new BackendFailureError(`${argv[0]!.split('/').pop()} failed with ${signal ?? `exit code ${code}`}.`, { exitCode: code, signal }));
    });
  });
}

/**
 * Moves ownership of every entry under `root` from host ids into the sandbox range
 * (uid → uid + base). Entries already in range are left alone. setuid/setgid bits, which chown
 * clears, are restored.
 */
export async function shiftOwnership(root: string, base = USERNS_HOST_BASE): Promise<void> {
  const stack = [root];
  while (stack.length) {
    const path = stack.pop()!;
    const st = await lstat(path);
    const shift = (id: number) => (id >= base && id < base + USERNS_SIZE ? id : id < USERNS_SIZE ? id + base : base + 65534);
    if (st.uid < base || st.gid < base) {
      await lchown(path, shift(st.uid), shift(st.gid));
      if (!st.isSymbolicLink() && (st.mode & 0o6000) !== 0) await chmod(path, st.mode & 0o7777);
    }
    if (st.isDirectory()) for (const name of await readdir(path)) stack.push(join(path, name));
  }
}

/** Bytes and entries under a tree (du-like, symlinks not followed). */
export async function measureTree(root: string): Promise<{ sizeBytes: number; fileCount: number }> {
  let sizeBytes = 0;
  let fileCount = 0;
  const stack = [root];
  while (stack.length) {
    const path = stack.pop()!;
    const st = await lstat(path);
    fileCount++;
    if (st.isFile()) sizeBytes += st.size;
    if (st.isDirectory()) for (const name of await readdir(path)) stack.push(join(path, name));
  }
  return { sizeBytes, fileCount };
}

/** Copies a tree preserving everything (`cp -a`), sharing blocks where the filesystem can. */
export function copyTree(from: string, to: string, log: LogSink, hardlink = false): Promise<void> {
  return runLogged(['cp', hardlink ? '-al' : '-a', '--reflink=auto', from, to].filter((a) => !(hardlink && a === '--reflink=auto')), log);
}
