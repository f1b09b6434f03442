/**
 * Pure arithmetic behind the microVM rows: the tier label carrying the acceleration, host memory
 * per idle VM (MemAvailable delta and QEMU RSS/PSS), idle CPU per VM from /proc/<pid>/stat ticks,
 * and the creation rate per host core. No I/O; the scenario reads the host and calls these.
 */

const MIB = 1024 * 1024;

/** The tier column of every microVM row, e.g. `microvm (tcg)`: the acceleration is always stated. */
export function microvmLabel(accel: string): string {
  return `microvm (${accel})`;
}

export interface VmMemorySample {
  /** Resident set of the VM's QEMU process, bytes. */
  rssBytes: number;
  /** Proportional set (shared pages split between the processes mapping them), bytes. */
  pssBytes: number;
}

export interface VmMemoryFigures {
  /** Host MemAvailable drop divided by the VM count, MiB. */
  memAvailableDeltaMib: number;
  /** Mean QEMU RSS per VM, MiB. */
  rssMib: number;
  /** Mean QEMU PSS per VM, MiB. */
  pssMib: number;
  /** VMs whose QEMU could be read (a VM that vanished is left out of the means). */
  measured: number;
}

/** Per-VM host memory for `vmCount` idle VMs from MemAvailable before/after and each QEMU's RSS/PSS. */
export function vmMemoryFigures(vmCount: number, memAvailableBeforeBytes: number, memAvailableAfterBytes: number, samples: readonly VmMemorySample[]): VmMemoryFigures {
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
  return {
    memAvailableDeltaMib: vmCount > 0 ? (memAvailableBeforeBytes - memAvailableAfterBytes) / vmCount / MIB : Number.NaN,
    rssMib: mean(samples.map((s) => s.rssBytes)) / MIB,
    pssMib: mean(samples.map((s) => s.pssBytes)) / MIB,
    measured: samples.length,
  };
}

/** utime + stime in clock ticks from a /proc/<pid>/stat line (fields 14 and 15), or undefined. */
export function cpuTicksFromStat(stat: string): number | undefined {
  // The command name (field 2) may contain spaces and parentheses: count from the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : undefined;
}

/** Mean CPU use per process over `seconds`, in % of one core, from tick counts before and after. */
export function idleCpuPercent(ticksBefore: readonly number[], ticksAfter: readonly number[], clockTicksPerSecond: number, seconds: number): number {
  const n = Math.min(ticksBefore.length, ticksAfter.length);
  if (n === 0 || seconds <= 0) return Number.NaN;
  let total = 0;
  for (let i = 0; i < n; i++) total += ticksAfter[i]! - ticksBefore[i]!;
  return (total / clockTicksPerSecond / seconds / n) * 100;
}

/** VMs brought up per host core per second (Firecracker publishes 5 per core per second). */
export function creationRatePerCore(vmCount: number, elapsedMs: number, cores: number): number {
  return elapsedMs > 0 && cores > 0 ? vmCount / (elapsedMs / 1000) / cores : Number.NaN;
}
