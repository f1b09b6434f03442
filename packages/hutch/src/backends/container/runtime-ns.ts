/**
 * The container backend's long-lived runtime mount namespace, for crun on a hybrid cgroup host
 * (native/hutch-mntns.c has the why and how). One holder process per backend instance keeps a
 * private mount namespace without the hybrid cgroup2 and without any overlay mount; every crun call
 * joins it through `hutch-mntns run` (one static exec) instead of building a namespace of its own
 * (`unshare` + `sh` + `umount` + detaching overlays: slower than crun itself).
 *
 * Lifetime: the holder is started on first use, started again when it has died, killed by
 * `close()`, and killed by the kernel when the server dies (PR_SET_PDEATHSIG), so a restarted
 * server never finds an old one: it starts its own. Containers never depend on it (each has its
 * own namespace once started). The holder never keeps a sandbox's overlay: `run` clones the root
 * (and workspace) mounts in for the one call and detaches them after it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ensureNative } from '../../host/native-build.js';
import { planHolderArgv, type RuntimeNamespaceRef } from './plan.js';

/** dist/src/backends/container → packages/hutch/native. */
export const MNTNS_SOURCE = fileURLToPath(new URL('../../../../native/hutch-mntns.c', import.meta.url));
export const DEFAULT_MNTNS_PATH = fileURLToPath(new URL('../../../../native/build/hutch-mntns', import.meta.url));

/** Builds hutch-mntns unless it is up to date; returns its path, or undefined when unusable. */
export async function ensureMntnsHelper(path = DEFAULT_MNTNS_PATH, gcc = '/usr/bin/gcc'): Promise<string | undefined> {
  return (await ensureNative({ source: MNTNS_SOURCE, output: path, flags: ['-static', '-O2', '-Wall'] }, gcc)) ? path : undefined;
}

interface Holder {
  child: ChildProcess;
  ref: Promise<RuntimeNamespaceRef>;
  exited: boolean;
}

/** The holder of one backend instance. */
export class RuntimeNamespace {
  private holder: Holder | undefined;
  private closed = false;

  constructor(private readonly helper: string, private readonly cgroup2: string) {}

  /** The running holder (started, or started again, as needed). */
  async ref(): Promise<RuntimeNamespaceRef> {
    if (this.closed) throw new Error('The container backend is closed.');
    if (!this.holder || this.holder.exited) this.holder = this.startHolder();
    try {
      return await this.holder.ref;
    } catch (err) {
      this.holder = undefined;
      throw err;
    }
  }

  /** Forgets the holder (a call found it gone or replaced): the next call starts a new one. */
  invalidate(): void {
    if (this.holder && !this.holder.exited) this.holder.child.kill('SIGKILL');
    this.holder = undefined;
  }

  /** Kills the holder; later calls fail. Calls already in the namespace finish normally. */
  close(): void {
    this.closed = true;
    if (this.holder && !this.holder.exited) this.holder.child.kill('SIGKILL');
    this.holder = undefined;
  }

  private startHolder(): Holder {
    const argv = planHolderArgv(this.helper, this.cgroup2);
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: {}, cwd: '/' });
    const holder: Holder = { child, exited: false, ref: Promise.resolve(undefined as never) };
    holder.ref = new Promise<RuntimeNamespaceRef>((resolve, reject) => {
      let out = '';
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (!out.includes('ready\n')) return;
        stat(`/proc/${child.pid}/ns/mnt`).then(
          (st) => {
            // It writes nothing more; it must not keep the server's event loop alive.
            child.stdout!.destroy();
            child.stderr!.destroy();
            child.unref();
            resolve({ helper: this.helper, pid: child.pid!, inode: String(st.ino) });
          },
          (e: Error) => reject(new Error(`The runtime namespace holder vanished: ${e.message}`)),
        );
      });
      child.once('error', (e) => reject(new Error(`The runtime namespace holder did not start: ${e.message}`)));
      child.once('exit', (code, signal) => {
        holder.exited = true;
        reject(new Error(`The runtime namespace holder exited (${signal ?? code}): ${err.trim()}`));
      });
    });
    // A holder that dies later is replaced on the next call; nobody waits on this promise then.
    holder.ref.catch(() => undefined);
    return holder;
  }
}
