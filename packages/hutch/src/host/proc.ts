/**
 * Small readers of /proc used to find and verify sandbox processes from the host: start times
 * (to tell a live init from a reused pid), namespace pids and identities, children, and a cmdline
 * scan that finds a sandbox's processes from its id alone (hosts without cgroups only: it reads
 * every process).
 */
import { readdir, readFile, readlink } from 'node:fs/promises';

async function read(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or undefined if gone. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  const stat = await read(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // The command name (field 2) may contain spaces; fields after it start after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (rest[0] === 'Z' || rest[0] === 'X') return undefined;
  return rest[19];
}

/** True when `pid` is alive and started at `startTime` (false without a start time to compare). */
export async function isSameProcess(pid: number, startTime: string | undefined): Promise<boolean> {
  if (startTime === undefined) return false;
  return (await processStartTime(pid)) === startTime;
}

/** The innermost namespace pid of host `pid` (last NSpid field), or undefined. */
export async function innermostPid(pid: number): Promise<number | undefined> {
  const status = await read(`/proc/${pid}/status`);
  const line = status?.split('\n').find((l) => l.startsWith('NSpid:'));
  const last = line?.trim().split(/\s+/).pop();
  return last === undefined ? undefined : Number(last);
}

/** Direct children of host `pid`. */
export async function childPids(pid: number): Promise<number[]> {
  const text = await read(`/proc/${pid}/task/${pid}/children`);
  return (text ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
}

/** Host pids whose command line contains `needle` as one argument or inside one. */
export async function findProcessesByArg(needle: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmdline = await read(`/proc/${name}/cmdline`);
    if (cmdline && cmdline.split('\0').some((arg) => arg.includes(needle))) found.push(Number(name));
  }
  return found;
}

/** The parent pid of host `pid`, or undefined if gone. */
export async function parentPid(pid: number): Promise<number | undefined> {
  const stat = await read(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/**
 * Waits until every pid in `pids` is gone from /proc (reaped), up to `timeoutMs`. Used for this
 * server's own children, which libuv reaps shortly after they die: returning before that would
 * leave zombies behind if the server exits next.
 */
export async function waitReaped(pids: number[], timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let left = pids;
  let round = 0;
  while (left.length > 0) {
    const alive: number[] = [];
    for (const pid of left) if ((await read(`/proc/${pid}/stat`)) !== undefined) alive.push(pid);
    left = alive;
    if (left.length === 0) return true;
    if (Date.now() > deadline) return false;
    // Reaping usually follows within a millisecond or two: check often at first, then back off.
    await new Promise((r) => setTimeout(r, Math.min(1 + round++, 5)));
  }
  return true;
}

/** Among host `pids`, those that are pid 1 of a child pid namespace (a sandbox's init). */
export async function namespaceInits(pids: number[]): Promise<number[]> {
  const inits: number[] = [];
  for (const pid of pids) {
    const status = await read(`/proc/${pid}/status`);
    const fields = status?.split('\n').find((l) => l.startsWith('NSpid:'))?.trim().split(/\s+/).slice(1) ?? [];
    if (fields.length > 1 && fields[fields.length - 1] === '1') inits.push(pid);
  }
  return inits;
}

/** The network namespace of host `pid` (`net:[<inode>]`), or undefined if gone. */
export async function networkNamespace(pid: number | 'self'): Promise<string | undefined> {
  try {
    return await readlink(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}
