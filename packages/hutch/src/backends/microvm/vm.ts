/**
 * The QEMU process of one VM: spawn it detached (it outlives the server), attach the agent
 * channel, and kill it. Recognises its own QEMU by the `-name hutch-<id>` in its command line, so a
 * recycled pid is never killed by mistake.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { BackendFailureError } from '../../domain/errors.js';
import { connectAgent, type AgentChannel } from './agent-channel.js';
import type { MicrovmContext, Vm } from './context.js';
import { dispatchAgentEvent, endAll } from './exec.js';
import { qemuArgv, type QemuPlan } from './plan.js';

/**
 * Spawns QEMU detached; resolves with its pid once it is running (rejects if it exits at once).
 * `env`: QEMU's environment (the egress shim's for a VM with a NIC); default: the server's.
 */
export async function spawnQemu(ctx: MicrovmContext, plan: QemuPlan, stderrLog: string, env?: NodeJS.ProcessEnv): Promise<number> {
  const errFd = openSync(stderrLog, 'a', 0o600);
  try {
    const child = spawn(ctx.tools.qemu, qemuArgv(plan), { detached: true, stdio: ['ignore', 'ignore', errFd], ...(env ? { env } : {}) });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', (err) => reject(new BackendFailureError('QEMU could not be started.', undefined, { cause: err })));
      child.once('spawn', () => resolve(child.pid!));
    });
    child.once('exit', () => undefined);
    child.unref();
    return pid;
  } finally {
    closeSync(errFd);
  }
}

/** The tail of QEMU's stderr, for error causes (never shown to clients). */
export async function qemuStderr(stderrLog: string): Promise<string> {
  return (await readFile(stderrLog, 'utf8').catch(() => '')).slice(-2000);
}

/** Connects the agent channel of `vm` at `socketPath`, routing its events to the VM's processes. */
export async function attachAgent(vm: Vm, socketPath: string, timeoutMs = 15_000): Promise<AgentChannel> {
  let channel: AgentChannel | undefined;
  channel = await connectAgent(
    socketPath,
    {
      onEvent: (event) => dispatchAgentEvent(vm, event),
      onClose: () => {
        if (vm.agent === channel) {
          vm.agent = undefined;
          endAll(vm, 'lost');
        }
      },
    },
    { timeoutMs },
  );
  vm.agent = channel;
  return channel;
}

/** Sends the post-boot hello: clock, fresh entropy (clones share the template's RNG state), env. */
export async function helloAgent(vm: Vm, agent: AgentChannel, timeoutMs: number, withEnv = true): Promise<void> {
  const args: Record<string, unknown> = { time_ms: Date.now(), entropy: randomBytes(64).toString('base64') };
  if (withEnv) args.env = vm.spec.env;
  await agent.request('hello', args, { timeoutMs });
}

/** True when `pid` is a live QEMU named `hutch-<sandboxId>`. */
export async function isOurQemu(pid: number, sandboxId: string): Promise<boolean> {
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return false;
    return cmdline.split('\0').includes(`hutch-${sandboxId}`);
  } catch {
    return false;
  }
}

/** The QEMU pid of `sandboxId` from its pidfile, or by scanning /proc for its name. */
export async function findQemu(pidFile: string, sandboxId: string): Promise<number | undefined> {
  const fromFile = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (fromFile > 0 && (await isOurQemu(fromFile, sandboxId))) return fromFile;
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    if (await isOurQemu(Number(name), sandboxId)) return Number(name);
  }
  return undefined;
}

/** SIGKILLs the VM's QEMU and waits until it is gone. Returns false if it would not die. */
export async function killQemu(pid: number, sandboxId: string, timeoutMs = 10_000): Promise<boolean> {
  if (!(await isOurQemu(pid, sandboxId))) return true;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return true;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await isOurQemu(pid, sandboxId))) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

/** Waits for QEMU to exit by itself (after `quit`). */
export async function waitExit(pid: number, sandboxId: string, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await isOurQemu(pid, sandboxId))) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}
