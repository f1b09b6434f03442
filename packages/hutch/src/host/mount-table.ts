/**
 * The mount table: the one description of what a sandbox's filesystem is made of (host binds,
 * symlinks, virtual dirs, the kernel's /proc and /dev), in mount order. Pure: a tier builds it from
 * its plan, renders it for its mechanism, and the confined files API (confined-files.ts) maps
 * sandbox paths through the same table, so the API never sees more than the sandbox does.
 */

/** One entry of the sandbox's mount table, in mount order. */
export type MountEntry =
  | { kind: 'bind'; path: string; hostPath: string; writable: boolean; optional?: boolean }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'dir'; path: string }
  | { kind: 'proc'; path: string }
  | { kind: 'dev'; path: string };

/** Where a sandbox path lives. */
export type Located =
  | { kind: 'host'; hostPath: string; mountHostPath: string; writable: boolean }
  | { kind: 'virtual' }
  | { kind: 'symlink'; target: string }
  | { kind: 'special' }
  | { kind: 'missing' };

/** Pure: maps a (symlink-free) sandbox path through the mount table. */
export function locate(mounts: readonly MountEntry[], path: string): Located {
  let best: MountEntry | undefined;
  for (const m of mounts) {
    if (m.path === path || m.path === '/' || path.startsWith(`${m.path}/`)) {
      if (!best || m.path.length >= best.path.length) best = m;
    }
  }
  if (best) {
    switch (best.kind) {
      case 'bind':
        return { kind: 'host', hostPath: best.path === '/' ? best.hostPath + (path === '/' ? '' : path) : best.hostPath + path.slice(best.path.length), mountHostPath: best.hostPath, writable: best.writable };
      case 'symlink':
        if (best.path === path) return { kind: 'symlink', target: best.target };
        break;
      case 'proc':
      case 'dev':
        return { kind: 'special' };
      case 'dir':
        if (best.path === path) return { kind: 'virtual' };
        break;
    }
  }
  if (path === '/' || mounts.some((m) => m.path.startsWith(`${path}/`))) return { kind: 'virtual' };
  return { kind: 'missing' };
}

/** Pure: the names directly under a virtual directory. */
export function virtualChildren(mounts: readonly MountEntry[], dir: string): Array<{ name: string; entry: MountEntry | undefined }> {
  const prefix = dir === '/' ? '/' : `${dir}/`;
  const names = new Map<string, MountEntry | undefined>();
  for (const m of mounts) {
    if (!m.path.startsWith(prefix) || m.path === dir) continue;
    const rest = m.path.slice(prefix.length);
    const name = rest.split('/')[0]!;
    if (!rest.includes('/')) names.set(name, m);
    else if (!names.has(name)) names.set(name, undefined);
  }
  return [...names.entries()].map(([name, entry]) => ({ name, entry }));
}
