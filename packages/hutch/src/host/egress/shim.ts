/**
 * The egress shim (native/egress-shim.c): where it is, and building it when it is missing.
 * scripts/setup.sh builds it; `ensureShim` builds it on first use on a host that has gcc.
 */
import { fileURLToPath } from 'node:url';
import { ensureNative, nativeReady } from '../native-build.js';

/** dist/src/host/egress → packages/hutch/native. */
export const SHIM_SOURCE = fileURLToPath(new URL('../../../../native/egress-shim.c', import.meta.url));
export const DEFAULT_SHIM_PATH = fileURLToPath(new URL('../../../../native/build/hutch-egress-shim.so', import.meta.url));

/** True when the shim exists and is at least as new as its source. */
export async function shimReady(path = DEFAULT_SHIM_PATH): Promise<boolean> {
  return nativeReady({ source: SHIM_SOURCE, output: path });
}

/** Builds the shim with gcc unless it is ready; returns whether it is usable. */
export async function ensureShim(path = DEFAULT_SHIM_PATH, gcc = '/usr/bin/gcc'): Promise<boolean> {
  if (path !== DEFAULT_SHIM_PATH) return shimReady(path);
  return ensureNative({ source: SHIM_SOURCE, output: path, flags: ['-shared', '-fPIC', '-O2'], libs: ['-ldl'] }, gcc);
}
