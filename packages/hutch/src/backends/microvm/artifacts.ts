/**
 * Boot artifacts, built once and cached machine-wide under the cache dir:
 * - `kernel/<package>/`: Debian's cloud kernel (`apt-get download` + `dpkg -x`, never installed on
 *   the host) — `vmlinuz` and the virtio modules the initramfs loads;
 * - `initrd/<digest>.img`: busybox-static + those modules + `/init` + the agent (guest.ts);
 * - `images/<template digest>.ext4`: the template root as an ext4 image (`mkfs.ext4 -d`), ids
 *   shifted back from the user-namespace range, read-only on the host (each VM writes to its own
 *   qcow2 overlay).
 * Every build goes to a staging name and is renamed into place, so a crash leaves no half artifact.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, lchown, lstat, mkdir, readdir, readFile, rename, rm, writeFile, chown } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { USERNS_HOST_BASE, USERNS_SIZE } from '../../domain/user-namespace.js';
import type { MicrovmTools } from './context.js';
import { runTool } from './errors.js';
import { GUEST_AGENT, GUEST_INIT, GUEST_MODULES } from './guest.js';
import { unshiftId } from './plan.js';

export interface BootArtifacts {
  kernel: string;
  /** Debian package the kernel came from, e.g. `linux-image-6.1.0-56-cloud-amd64`. */
  kernelPackage: string;
  initrd: string;
  initrdDigest: string;
}

const KERNEL_META_PACKAGE = 'linux-image-cloud-amd64';
/** Bump when the image layout changes (invalidates cached images and template snapshots). */
const IMAGE_FORMAT = 'hutch-microvm-image/1';

/** Kernel + initramfs, from the cache or built now. */
export async function prepareBootArtifacts(cacheDir: string, tools: MicrovmTools): Promise<BootArtifacts> {
  const kernel = await prepareKernel(cacheDir, tools);
  const busybox = await sha256File(tools.busybox);
  const initrdDigest = createHash('sha256').update([kernel.package, busybox, GUEST_MODULES.join(','), GUEST_INIT, GUEST_AGENT].join('\0')).digest('hex').slice(0, 32);
  const initrd = join(cacheDir, 'initrd', `${initrdDigest}.img`);
  if (!(await exists(initrd))) await buildInitrd(initrd, kernel.dir, tools);
  return { kernel: join(kernel.dir, 'vmlinuz'), kernelPackage: kernel.package, initrd, initrdDigest };
}

async function prepareKernel(cacheDir: string, tools: MicrovmTools): Promise<{ package: string; dir: string }> {
  const current = join(cacheDir, 'kernel', 'current.json');
  try {
    const meta = JSON.parse(await readFile(current, 'utf8')) as { package: string };
    const dir = join(cacheDir, 'kernel', meta.package);
    if (await exists(join(dir, 'vmlinuz'))) return { package: meta.package, dir };
  } catch {
    // not cached yet: fetch below
  }
  const depends = await runTool([tools.aptCache, 'depends', KERNEL_META_PACKAGE]);
  const pkg = /Depends:\s*(linux-image-[0-9][^\s]*-cloud-amd64)/.exec(depends)?.[1];
  if (!pkg) throw new Error(`${KERNEL_META_PACKAGE} names no kernel package (apt-get update?)`);
  const staging = join(cacheDir, 'kernel', `.staging-${randomBytes(6).toString('hex')}`);
  await mkdir(staging, { recursive: true });
  try {
    await runTool([tools.aptGet, 'download', '-q', pkg], { cwd: staging });
    const deb = (await readdir(staging)).find((n) => n.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download ${pkg} produced no .deb`);
    await runTool([tools.dpkg, '-x', join(staging, deb), join(staging, 'x')]);
    const out = join(staging, 'out');
    await mkdir(join(out, 'modules'), { recursive: true });
    const boot = (await readdir(join(staging, 'x', 'boot'))).find((n) => n.startsWith('vmlinuz-'));
    if (!boot) throw new Error(`${pkg} has no vmlinuz`);
    await copyFile(join(staging, 'x', 'boot', boot), join(out, 'vmlinuz'));
    const modRoot = join(staging, 'x', 'lib', 'modules');
    const release = (await readdir(modRoot))[0]!;
    for (const m of GUEST_MODULES) await copyFile(join(modRoot, release, 'kernel', `${m}.ko`), join(out, 'modules', `${basename(m)}.ko`));
    const dir = join(cacheDir, 'kernel', pkg);
    await rm(dir, { recursive: true, force: true });
    await rename(out, dir);
    await writeFile(current, JSON.stringify({ package: pkg }));
    return { package: pkg, dir };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function buildInitrd(target: string, kernelDir: string, tools: MicrovmTools): Promise<void> {
  const staging = join(dirname(target), `.staging-${randomBytes(6).toString('hex')}`);
  const tree = join(staging, 'tree');
  try {
    await mkdir(join(tree, 'bin'), { recursive: true });
    await mkdir(join(tree, 'lib', 'modules'), { recursive: true });
    await copyFile(tools.busybox, join(tree, 'bin', 'busybox'));
    await chmod(join(tree, 'bin', 'busybox'), 0o755);
    for (const m of GUEST_MODULES) await copyFile(join(kernelDir, 'modules', `${basename(m)}.ko`), join(tree, 'lib', 'modules', `${basename(m)}.ko`));
    await writeFile(join(tree, 'init'), GUEST_INIT, { mode: 0o755 });
    await writeFile(join(tree, 'agent.py'), GUEST_AGENT, { mode: 0o644 });
    const names = ['.', 'bin', 'bin/busybox', 'lib', 'lib/modules', ...GUEST_MODULES.map((m) => `lib/modules/${basename(m)}.ko`), 'init', 'agent.py'];
    const cpio = join(staging, 'initrd.cpio');
    await writeFile(cpio, await runCpio(tools.busybox, tree, names));
    await pipeline(createReadStream(cpio), createGzip({ level: 1 }), createWriteStream(join(staging, 'initrd.img')));
    await rename(join(staging, 'initrd.img'), target);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function runCpio(busybox: string, cwd: string, names: string[]): Promise<Buffer> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(busybox, ['cpio', '-o', '-H', 'newc'], { cwd, stdio: ['pipe', 'pipe', 'ignore'] });
    const parts: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => parts.push(d));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(Buffer.concat(parts)) : reject(new Error(`busybox cpio exit ${code}`))));
    Readable.from([names.join('\n') + '\n']).pipe(child.stdin);
  });
}

/** The cache key of a template root: its content digest when it sits in the template store, else its path. */
export function imageKey(rootfsPath: string): string {
  const parent = basename(dirname(rootfsPath));
  const id = /^[0-9a-f]{64}$/.test(parent) ? parent : rootfsPath;
  return createHash('sha256').update(`${IMAGE_FORMAT}\0${id}`).digest('hex').slice(0, 32);
}

/** The template's ext4 image (built now if missing): path and its key. */
export async function prepareRootImage(cacheDir: string, tools: MicrovmTools, rootfsPath: string): Promise<{ path: string; key: string }> {
  const key = imageKey(rootfsPath);
  const path = join(cacheDir, 'images', `${key}.ext4`);
  if (await exists(path)) return { path, key };
  const staging = join(cacheDir, 'images', `.staging-${randomBytes(6).toString('hex')}`);
  await mkdir(staging, { recursive: true });
  try {
    const root = join(staging, 'root');
    await runTool(['/bin/cp', '-a', '--reflink=auto', rootfsPath, root]);
    const bytes = await unshiftTree(root);
    await mkdir(join(root, 'workspace'), { recursive: true });
    await chown(join(root, 'workspace'), 1000, 1000);
    await chmod(join(root, 'workspace'), 0o777);
    // Free space in the guest is what the image leaves over (the overlay is sparse on the host).
    const sizeMib = Math.max(2048, Math.ceil((bytes * 2) / 1024 ** 2) + 1024);
    const image = join(staging, 'image.ext4');
    await runTool([tools.mkfsExt4, '-q', '-F', '-L', 'root', '-E', 'root_owner=0:0', '-d', root, image, `${sizeMib}M`]);
    await chmod(image, 0o444);
    await rename(image, path);
    return { path, key };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Shifts every uid/gid in the user-namespace range back to guest ids; keeps setuid bits. Returns the bytes seen. */
async function unshiftTree(root: string): Promise<number> {
  let bytes = 0;
  const visit = async (path: string): Promise<void> => {
    const st = await lstat(path);
    bytes += st.size;
    const uid = unshiftId(st.uid, USERNS_HOST_BASE, USERNS_SIZE);
    const gid = unshiftId(st.gid, USERNS_HOST_BASE, USERNS_SIZE);
    if (uid !== st.uid || gid !== st.gid) {
      await lchown(path, uid, gid);
      // chown clears setuid/setgid on files; put the mode back (symlinks have no mode of their own).
      if (!st.isSymbolicLink() && (st.mode & 0o6000) !== 0) await chmod(path, st.mode & 0o7777);
    }
    if (st.isDirectory()) for (const name of await readdir(path)) await visit(join(path, name));
  };
  await visit(root);
  return bytes;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}
