/**
 * Admission: refuses a new sandbox when it would exceed the node's limits (count, cpu and memory
 * budgets) or when free disk under the data directory is below the floor. Pure arithmetic plus one
 * statfs, so it can be unit-tested with a fake disk probe.
 */
import { statfsSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { CapacityRejectedError } from '../domain/errors.js';
import type { Resources } from '../domain/sandbox.js';

export interface AdmissionLimits {
  /** Live sandboxes at most (default 500). */
  maxSandboxes: number;
  /** Sum of vcpus over live sandboxes (default 4 × host cores: cpu is shared, not reserved). */
  cpuBudget: number;
  /** Sum of memoryMib over live sandboxes (default: host memory). */
  memoryBudgetMib: number;
  /** Refuse below this many free bytes in the data directory (default 1 GiB). */
  diskFloorBytes: number;
}

export function defaultAdmissionLimits(): AdmissionLimits {
  return {
    maxSandboxes: 500,
    cpuBudget: availableParallelism() * 4,
    memoryBudgetMib: Math.floor(totalmem() / (1024 * 1024)),
    diskFloorBytes: 1024 ** 3,
  };
}

export type DiskProbe = () => number;

export function statfsProbe(dir: string): DiskProbe {
  return () => {
    const s = statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  };
}

/** Throws `CapacityRejectedError` if admitting `request` next to `live` would break a limit. */
export function admit(limits: AdmissionLimits, live: Resources[], request: Resources, freeDiskBytes: number): void {
  if (live.length + 1 > limits.maxSandboxes) {
    throw new CapacityRejectedError(`the node already runs ${live.length} of at most ${limits.maxSandboxes} sandboxes`, { limit: 'maxSandboxes', max: limits.maxSandboxes });
  }
  const cpu = live.reduce((n, r) => n + (r.vcpus ?? 0), 0) + (request.vcpus ?? 0);
  if (cpu > limits.cpuBudget) {
    throw new CapacityRejectedError(`${cpu} vcpus requested in total, over the budget of ${limits.cpuBudget}`, { limit: 'cpuBudget', max: limits.cpuBudget });
  }
  const memory = live.reduce((n, r) => n + (r.memoryMib ?? 0), 0) + (request.memoryMib ?? 0);
  if (memory > limits.memoryBudgetMib) {
    throw new CapacityRejectedError(`${memory} MiB of memory requested in total, over the budget of ${limits.memoryBudgetMib} MiB`, { limit: 'memoryBudgetMib', max: limits.memoryBudgetMib });
  }
  if (freeDiskBytes < limits.diskFloorBytes) {
    throw new CapacityRejectedError(`free disk is below the floor of ${Math.round(limits.diskFloorBytes / 1024 ** 2)} MiB`, { limit: 'diskFloorBytes' });
  }
}
