/**
 * Building Hutch's small C helpers (packages/hutch/native/*.c) on first use: scripts/setup.sh
 * builds them ahead of time; `ensureNative` builds one with gcc when its output is missing or older
 * than its source, writing to a temporary name and renaming, so a concurrent user never sees a
 * half-written file. Returns false (never throws) when it cannot: the caller decides what to do.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface NativeBuild {
  source: string;
  output: string;
  /** gcc arguments between the output and the source (e.g. `-shared -fPIC -O2`). */
  flags: string[];
  /** Arguments after the source (libraries). */
  libs?: string[];
}

/** True when `output` exists and is at least as new as `source` (or the source is not shipped). */
export async function nativeReady(build: Pick<NativeBuild, 'source' | 'output'>): Promise<boolean> {
  const built = await stat(build.output).catch(() => undefined);
  if (!built) return false;
  const source = await stat(build.source).catch(() => undefined);
  return !source || source.mtimeMs <= built.mtimeMs;
}

/** Builds `build` with gcc unless it is ready; returns whether the output is usable. */
export async function ensureNative(build: NativeBuild, gcc = '/usr/bin/gcc'): Promise<boolean> {
  if (await nativeReady(build)) return true;
  const hasGcc = await access(gcc, constants.X_OK).then(() => true, () => false);
  const hasSource = await access(build.source, constants.R_OK).then(() => true, () => false);
  if (!hasGcc || !hasSource) return false;
  await mkdir(dirname(build.output), { recursive: true });
  const tmp = `${build.output}.${process.pid}.tmp`;
  try {
    await run(gcc, [...build.flags, '-o', tmp, build.source, ...(build.libs ?? [])], { timeout: 60_000 });
    await rename(tmp, build.output);
    return true;
  } catch {
    await unlink(tmp).catch(() => undefined);
    return false;
  }
}
