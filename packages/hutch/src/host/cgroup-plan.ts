/**
 * Pure planning of per-sandbox cgroups (`hutch/<sandboxId>` in every hierarchy used), shared by the
 * host-based tiers: the detected layout (cgroup v1 hierarchies, pure v2, or none), the dirs of a
 * sandbox, and the limit files to write. No I/O here; `cgroups.ts` acts on it.
 */
import { join } from 'node:path';
import type { Resources } from '../domain/sandbox.js';

/** Cgroup hierarchies as detected on the host. */
export type CgroupLayout =
  | { mode: 'v1'; mounts: Partial<Record<CgroupController, string>> }
  | { mode: 'v2'; root: string; controllers: string[] }
  | { mode: 'none' };

export const CGROUP_CONTROLLERS = ['memory', 'pids', 'cpu', 'cpuacct', 'freezer'] as const;
export type CgroupController = (typeof CGROUP_CONTROLLERS)[number];

/** The per-sandbox cgroup dirs (`hutch/<id>` in every hierarchy used). */
export function cgroupDirs(layout: CgroupLayout, sandboxId: string): string[] {
  if (layout.mode === 'v2') return [join(layout.root, 'hutch', sandboxId)];
  if (layout.mode === 'v1') return [...new Set(Object.values(layout.mounts).map((m) => join(m, 'hutch', sandboxId)))];
  return [];
}

/** The dir of one controller for a sandbox (v1), or the unified dir (v2). */
export function cgroupDir(layout: CgroupLayout, sandboxId: string, controller: CgroupController): string | undefined {
  if (layout.mode === 'v2') return join(layout.root, 'hutch', sandboxId);
  if (layout.mode === 'v1') {
    const mount = layout.mounts[controller];
    return mount === undefined ? undefined : join(mount, 'hutch', sandboxId);
  }
  return undefined;
}

export interface CgroupWrite {
  dir: string;
  file: string;
  value: string;
}

export const CPU_PERIOD_US = 100_000;

/** Limit files to write, in order (v1 needs memsw after the memory limit). */
export function planCgroupWrites(layout: CgroupLayout, sandboxId: string, resources: Resources): CgroupWrite[] {
  const writes: CgroupWrite[] = [];
  const dir = (c: CgroupController) => cgroupDir(layout, sandboxId, c);
  const push = (c: CgroupController, file: string, value: string) => {
    const d = dir(c);
    if (d !== undefined) writes.push({ dir: d, file, value });
  };
  const memoryBytes = resources.memoryMib ? Math.floor(resources.memoryMib * 1024 * 1024) : undefined;
  const quotaUs = resources.vcpus ? Math.max(1000, Math.round(resources.vcpus * CPU_PERIOD_US)) : undefined;
  if (layout.mode === 'v1') {
    if (memoryBytes) {
      push('memory', 'memory.limit_in_bytes', String(memoryBytes));
      push('memory', 'memory.memsw.limit_in_bytes', String(memoryBytes));
    }
    if (resources.pids) push('pids', 'pids.max', String(resources.pids));
    if (quotaUs) {
      push('cpu', 'cpu.cfs_period_us', String(CPU_PERIOD_US));
      push('cpu', 'cpu.cfs_quota_us', String(quotaUs));
    }
  } else if (layout.mode === 'v2') {
    if (memoryBytes) {
      push('memory', 'memory.max', String(memoryBytes));
      push('memory', 'memory.swap.max', '0');
    }
    if (resources.pids) push('pids', 'pids.max', String(resources.pids));
    if (quotaUs) push('cpu', 'cpu.max', `${quotaUs} ${CPU_PERIOD_US}`);
  }
  return writes;
}

/** The `cgroup.procs` files a launched process writes its pid to. */
export function cgroupProcsFiles(layout: CgroupLayout, sandboxId: string): string[] {
  return cgroupDirs(layout, sandboxId).map((d) => join(d, 'cgroup.procs'));
}
