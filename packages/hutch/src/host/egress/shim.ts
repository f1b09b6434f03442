/**
 * The egress shim (native/egress-shim.c): where it is, and building it when it is missing.
 * scripts/setup.sh builds it; `ensureShim` builds it on first use on a host that has gcc.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** dist/src/host/egress → packages/hutch/native. */
export const SHIM_SOURCE = fileURLToPath(new URL('../../../../native/egress-shim.c', import.meta.url));
export const DEFAULT_SHIM_PATH = fileURLToPath(new URL('../../../../native/build/hutch-egress-shim.so', import.meta.url));

/** True when the shim exists and is at least as new as its source. */
export async function shimReady(path = DEFAULT_SHIM_PATH): Promise<boolean> {
  const built = await stat(path).catch(() => undefined);
  if (!built) return false;
  const source = await stat(SHIM_SOURCE).catch(() => undefined);
  return !source || source.mtimeMs <= built.mtimeMs;
}

/** Builds the shim with gcc unless it is ready; returns whether it is usable. */
export async function ensureShim(path = DEFAULT_SHIM_PATH, gcc = '/usr/bin/gcc'): Promise<boolean> {
  if (await shimReady(path)) return true;
  if (path !== DEFAULT_SHIM_PATH) return false;
  const hasGcc = await access(gcc, constants.X_OK).then(() => true, () => false);
  const hasSource = await access(SHIM_SOURCE, constants.R_OK).then(() => true, () => false);
  if (!hasGcc || !hasSource) return false;
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await run(gcc, ['-shared', '-fPIC', '-O2', '-o', tmp, SHIM_SOURCE, '-ldl'], { timeout: 60_000 });
    await rename(tmp, path);
    return true;
  } catch {
    return false;
  }
}
