/**
 * The template store under `<dataDir>/templates`: content-addressed root filesystems
 * (`layers/<digest>/rootfs` + `meta.json`), names pointing at digests (`names/<name>.json`), and
 * builds that either finish completely or leave nothing behind (`staging/` is removed on failure).
 * Root filesystems are immutable once built and shared read-only by every sandbox that uses them.
 * Slow builds from the Debian archive are also kept in a machine-wide cache
 * (`$HUTCH_TEMPLATE_CACHE`, default /var/cache/hutch/templates) so a new data directory (or a CI
 * clone) reuses them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, readdir, rename, rm, stat, writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BadRequestError, HutchError } from '../domain/errors.js';
import type { ResolvedTemplate, TemplateResolver } from '../engine/lifecycle.js';
import { copyTree, measureTree, runLogged, shiftOwnership, type LogSink } from './host-ops.js';
import { BASE_RECIPE, recipeDigest, validateRecipe, type TemplateMeta, type TemplateRecipe } from './recipe.js';
import { applyStep, type BuildState } from './steps.js';

export interface TemplateInfo {
  name: string;
  digest: string;
  parent: string | null;
  sizeBytes: number;
  fileCount: number;
  env: string[];
  workdir: string | null;
  user: string | null;
  start: string | null;
  ready: string | null;
  builtAt: string;
}

export class TemplateNotFoundError extends HutchError {
  constructor(name: string) {
    super('template_not_found', `Template "${name}" was not found. Build it first (POST /v1/templates) or use "base".`, { template: name });
  }
}

export interface TemplateStoreOptions {
  dataDir: string;
  /** Machine-wide cache of archive builds; null disables it. */
  cacheDir?: string | null;
  /** Debian mirror for debootstrap (default: the first URIs of the host's apt sources). */
  mirror?: string;
  log?: LogSink;
}

export class TemplateStore implements TemplateResolver {
  readonly root: string;
  private readonly cacheDir: string | null;
  private readonly building = new Map<string, Promise<void>>();

  constructor(private readonly options: TemplateStoreOptions) {
    this.root = join(options.dataDir, 'templates');
    this.cacheDir = options.cacheDir === undefined ? process.env.HUTCH_TEMPLATE_CACHE ?? '/var/cache/hutch/templates' : options.cacheDir;
  }

  private layer(digest: string): string {
    return join(this.root, 'layers', digest);
  }

  private async readMeta(digest: string): Promise<TemplateMeta | undefined> {
    try {
      return JSON.parse(await readFile(join(this.layer(digest), 'meta.json'), 'utf8')) as TemplateMeta;
    } catch {
      return undefined;
    }
  }

  private async digestOf(name: string): Promise<string | undefined> {
    try {
      return (JSON.parse(await readFile(join(this.root, 'names', `${name}.json`), 'utf8')) as { digest: string }).digest;
    } catch {
      return undefined;
    }
  }

  /** The template as a sandbox uses it; `base` is built on first use. */
  async resolve(name: string): Promise<ResolvedTemplate> {
    let digest = await this.digestOf(name);
    if (!digest && name === 'base') digest = (await this.build(BASE_RECIPE, this.options.log ?? (() => undefined))).digest;
    const meta = digest ? await this.readMeta(digest) : undefined;
    if (!digest || !meta) throw new TemplateNotFoundError(name);
    const resolved: ResolvedTemplate = { name, rootfsPath: join(this.layer(digest), 'rootfs'), env: meta.env };
    if (meta.workdir) resolved.workdir = meta.workdir;
    if (meta.user) resolved.user = meta.user;
    if (meta.start) resolved.startCommand = meta.start;
    if (meta.ready) resolved.readyCommand = meta.ready;
    if (meta.readyTimeoutMs) resolved.readyTimeoutMs = meta.readyTimeoutMs;
    return resolved;
  }

  async get(name: string): Promise<TemplateInfo> {
    const digest = await this.digestOf(name);
    const meta = digest ? await this.readMeta(digest) : undefined;
    if (!meta) throw new TemplateNotFoundError(name);
    return toInfo(name, meta);
  }

  async list(): Promise<TemplateInfo[]> {
    const names = (await readdir(join(this.root, 'names')).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5));
    const out: TemplateInfo[] = [];
    for (const name of names.sort()) out.push(await this.get(name).catch(() => undefined as never));
    return out.filter(Boolean);
  }

  /** Removes the name; the root filesystem goes at the next `gc` once nothing uses it. */
  async delete(name: string): Promise<void> {
    if (!(await this.digestOf(name))) throw new TemplateNotFoundError(name);
    await rm(join(this.root, 'names', `${name}.json`));
  }

  /** Removes layers no name points at and no sandbox uses (`inUse`: digests or template names). */
  async gc(inUseNames: Set<string>): Promise<number> {
    const keep = new Set<string>();
    for (const name of await readdir(join(this.root, 'names')).catch(() => [] as string[])) {
      const digest = await this.digestOf(name.replace(/\.json$/, ''));
      if (digest) keep.add(digest);
    }
    for (const name of inUseNames) {
      const digest = await this.digestOf(name);
      if (digest) keep.add(digest);
    }
    let removed = 0;
    for (const digest of await readdir(join(this.root, 'layers')).catch(() => [] as string[])) {
      if (keep.has(digest)) continue;
      await rm(this.layer(digest), { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  /** Builds (or reuses, when its digest exists) a template and names it. One build per digest at a time. */
  async build(recipe: TemplateRecipe, log: LogSink): Promise<TemplateInfo> {
    validateRecipe(recipe);
    const parent = 'template' in recipe.from ? await this.parentMeta(recipe.from.template, log) : undefined;
    const hostHashes = await hashHostSources(recipe);
    const digest = recipeDigest(recipe, parent?.digest ?? null, hostHashes);
    let pending = this.building.get(digest);
    if (!pending) {
      pending = this.buildDigest(recipe, digest, parent, log).finally(() => this.building.delete(digest));
      this.building.set(digest, pending);
    }
    await pending;
    await mkdir(join(this.root, 'names'), { recursive: true });
    await writeFile(join(this.root, 'names', `${recipe.name}.json`), JSON.stringify({ name: recipe.name, digest }));
    return this.get(recipe.name);
  }

  private async parentMeta(name: string, log: LogSink): Promise<TemplateMeta> {
    if (name === 'base' && !(await this.digestOf('base'))) await this.build(BASE_RECIPE, log);
    const digest = await this.digestOf(name);
    const meta = digest ? await this.readMeta(digest) : undefined;
    if (!meta) throw new TemplateNotFoundError(name);
    return meta;
  }

  private async buildDigest(recipe: TemplateRecipe, digest: string, parent: TemplateMeta | undefined, log: LogSink): Promise<void> {
    if (await this.readMeta(digest)) {
      log(`template ${recipe.name}: up to date (${digest.slice(0, 12)})`);
      return;
    }
    await this.prepareDirs();
    if (await this.restoreFromCache(digest, log)) return;
    const staging = join(this.root, 'staging', randomBytes(8).toString('hex'));
    const rootfs = join(staging, 'rootfs');
    await mkdir(staging, { recursive: true, mode: 0o755 });
    try {
      await this.materialize(recipe, parent, rootfs, log);
      const state: BuildState = { env: { ...parent?.env }, workdir: parent?.workdir ?? null, user: parent?.user ?? null };
      if (recipe.steps?.some((s) => 'run' in s)) await copyFile('/etc/resolv.conf', join(rootfs, 'etc/resolv.conf')).catch(() => undefined);
      for (const step of recipe.steps ?? []) await applyStep(rootfs, step, state, log);
      const size = await measureTree(rootfs);
      const meta: TemplateMeta = {
        digest,
        parent: parent?.digest ?? null,
        env: state.env,
        workdir: state.workdir,
        user: state.user,
        start: recipe.start ?? parent?.start ?? null,
        ready: recipe.ready ?? parent?.ready ?? null,
        readyTimeoutMs: recipe.readyTimeoutMs ?? parent?.readyTimeoutMs ?? null,
        ...size,
        builtAt: new Date().toISOString(),
      };
      await writeFile(join(staging, 'meta.json'), JSON.stringify(meta, null, 2));
      await rename(staging, this.layer(digest));
      log(`template ${recipe.name}: built ${digest.slice(0, 12)} (${Math.round(size.sizeBytes / 1024 ** 2)} MiB, ${size.fileCount} entries)`);
      if ('debootstrap' in recipe.from) await this.saveToCache(digest, log);
    } catch (err) {
      log(`template ${recipe.name}: build failed; nothing was kept`);
      throw err;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /** Lays down the starting root filesystem (owned by the sandbox id range). */
  private async materialize(recipe: TemplateRecipe, parent: TemplateMeta | undefined, rootfs: string, log: LogSink): Promise<void> {
    const from = recipe.from;
    if ('template' in from) {
      log(`FROM ${from.template}`);
      await copyTree(join(this.layer(parent!.digest), 'rootfs'), rootfs, log);
      return;
    }
    if ('debootstrap' in from) {
      const mirror = this.options.mirror ?? (await hostMirror());
      log(`FROM debootstrap ${from.debootstrap.suite} (minbase)`);
      const include = from.debootstrap.include.length ? [`--include=${from.debootstrap.include.join(',')}`] : [];
      await runLogged(['debootstrap', '--variant=minbase', ...include, from.debootstrap.suite, rootfs, mirror], log);
    } else if ('directory' in from) {
      log('FROM directory');
      if (!(await stat(from.directory).catch(() => undefined))?.isDirectory()) throw new BadRequestError('The directory to import does not exist on the server host.');
      await copyTree(from.directory, rootfs, log);
    } else {
      log('FROM tarball');
      await mkdir(rootfs, { recursive: true });
      await runLogged(['tar', '-x', '-p', '--numeric-owner', '-f', from.tarball, '-C', rootfs], log);
    }
    await shiftOwnership(rootfs);
    await chmod(rootfs, 0o755);
  }

  private async prepareDirs(): Promise<void> {
    // Sandbox ids (host 100000+) must be able to traverse to the root filesystems.
    await chmod(this.options.dataDir, 0o711).catch(() => undefined);
    for (const dir of [this.root, join(this.root, 'layers'), join(this.root, 'staging'), join(this.root, 'names')]) {
      await mkdir(dir, { recursive: true });
      await chmod(dir, 0o711);
    }
  }

  private async restoreFromCache(digest: string, log: LogSink): Promise<boolean> {
    if (!this.cacheDir) return false;
    const cached = join(this.cacheDir, digest);
    if (!(await stat(join(cached, 'meta.json')).catch(() => undefined))) return false;
    const staging = join(this.root, 'staging', `cache-${randomBytes(6).toString('hex')}`);
    try {
      await copyTree(cached, staging, log, true).catch(() => copyTree(cached, staging, log));
      await rename(staging, this.layer(digest));
      log(`template ${digest.slice(0, 12)}: restored from the machine cache`);
      return true;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  private async saveToCache(digest: string, log: LogSink): Promise<void> {
    if (!this.cacheDir) return;
    const target = join(this.cacheDir, digest);
    if (await stat(target).catch(() => undefined)) return;
    const staging = `${target}.tmp-${randomBytes(4).toString('hex')}`;
    try {
      await mkdir(this.cacheDir, { recursive: true });
      await copyTree(this.layer(digest), staging, log, true).catch(() => copyTree(this.layer(digest), staging, log));
      await rename(staging, target);
    } catch {
      log('template cache: could not save (continuing)');
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
}

function toInfo(name: string, meta: TemplateMeta): TemplateInfo {
  return { name, digest: meta.digest, parent: meta.parent, sizeBytes: meta.sizeBytes, fileCount: meta.fileCount, env: Object.keys(meta.env).sort(), workdir: meta.workdir, user: meta.user, start: meta.start, ready: meta.ready, builtAt: meta.builtAt };
}

/** The host's Debian mirror, read from apt's sources at run time (never written down). */
async function hostMirror(): Promise<string> {
  for (const file of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    const uri = /^URIs:\s*(\S+)/m.exec(text)?.[1] ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/m.exec(text)?.[1];
    if (uri) return uri;
  }
  throw new BadRequestError('No Debian mirror is configured in apt sources; cannot run debootstrap.');
}

/** Content hashes of COPY sources on the host, so a changed file changes the digest. */
async function hashHostSources(recipe: TemplateRecipe): Promise<string[]> {
  const out: string[] = [];
  for (const step of recipe.steps ?? []) {
    if (!('copy' in step) || step.copy.src === undefined) continue;
    const hash = createHash('sha256');
    const stack = [step.copy.src];
    while (stack.length) {
      const path = stack.pop()!;
      const st = await stat(path).catch(() => undefined);
      if (!st) throw new BadRequestError(`COPY source ${path} does not exist on the host.`);
      hash.update(path.slice(step.copy.src.length));
      if (st.isDirectory()) for (const name of (await readdir(path)).sort().reverse()) stack.push(join(path, name));
      else hash.update(await readFile(path));
    }
    out.push(hash.digest('hex'));
  }
  return out;
}
