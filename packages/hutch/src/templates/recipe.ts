/**
 * Template recipes: where a template starts (`from`), the build steps, and the metadata a sandbox
 * inherits. Pure: validation and the content address (digest) of a recipe, computed from the
 * parent's digest and every step, so equal recipes share one stored root filesystem.
 */
import { createHash } from 'node:crypto';
import { BadRequestError } from '../domain/errors.js';

export type TemplateStep =
  | { run: string }
  | { env: Record<string, string> }
  | { workdir: string }
  | { user: string }
  /** Inline content, or a host file/directory (`src`), copied to `dest` inside the template. */
  | { copy: { dest: string; content?: string; src?: string; mode?: number } };

export type TemplateSource =
  /** Another template by name (`base` is built on first use). */
  | { template: string }
  /** A Debian root from the archive. */
  | { debootstrap: { suite: string; include: string[] } }
  /** An existing root filesystem directory on the host. */
  | { directory: string }
  /** A root filesystem tarball on the host (`.tar`, `.tar.gz`). */
  | { tarball: string };

export interface TemplateRecipe {
  name: string;
  from: TemplateSource;
  steps?: TemplateStep[];
  /** Started detached in every sandbox made from the template. */
  start?: string;
  /** Must exit 0 before such a sandbox is reported running. */
  ready?: string;
  readyTimeoutMs?: number;
}

/** Metadata stored beside a built root filesystem. */
export interface TemplateMeta {
  digest: string;
  parent: string | null;
  env: Record<string, string>;
  workdir: string | null;
  user: string | null;
  start: string | null;
  ready: string | null;
  readyTimeoutMs: number | null;
  sizeBytes: number;
  fileCount: number;
  builtAt: string;
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export function validateRecipe(recipe: TemplateRecipe): void {
  if (!NAME.test(recipe.name)) throw new BadRequestError(`Template name "${recipe.name}" is invalid: use 1-63 lowercase letters, digits, '.', '_' or '-'.`, { field: 'name' });
  const from = recipe.from as Record<string, unknown>;
  if (!from || Object.keys(from).length !== 1) throw new BadRequestError('from must name exactly one source: template, debootstrap, directory or tarball.', { field: 'from' });
  if ('template' in from && from.template === recipe.name) throw new BadRequestError('A template cannot be built from itself.', { field: 'from' });
  for (const [i, step] of (recipe.steps ?? []).entries()) {
    const keys = Object.keys(step);
    if (keys.length !== 1 || !['run', 'env', 'workdir', 'user', 'copy'].includes(keys[0]!)) throw new BadRequestError(`Step ${i + 1} must be exactly one of run, env, workdir, user, copy.`, { field: `steps[${i}]` });
    if ('workdir' in step && !step.workdir.startsWith('/')) throw new BadRequestError(`Step ${i + 1}: workdir must be absolute.`, { field: `steps[${i}]` });
    if ('copy' in step) {
      if (!step.copy.dest?.startsWith('/')) throw new BadRequestError(`Step ${i + 1}: copy.dest must be absolute.`, { field: `steps[${i}]` });
      if ((step.copy.content === undefined) === (step.copy.src === undefined)) throw new BadRequestError(`Step ${i + 1}: copy needs exactly one of content or src.`, { field: `steps[${i}]` });
    }
    if ('env' in step) for (const k of Object.keys(step.env)) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new BadRequestError(`Step ${i + 1}: env name "${k}" is invalid.`, { field: `steps[${i}]` });
  }
}

/** The content address of a recipe: parent digest + source + steps (+ hashes of copied host files). */
export function recipeDigest(recipe: TemplateRecipe, parentDigest: string | null, hostContentHashes: string[] = []): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ v: 1, parent: parentDigest, from: parentDigest ? null : recipe.from, steps: recipe.steps ?? [], start: recipe.start ?? null, ready: recipe.ready ?? null, readyTimeoutMs: recipe.readyTimeoutMs ?? null, hostContentHashes }));
  return hash.digest('hex');
}

/** The built-in `base` template: Debian bookworm minbase with the tools agents expect and a sudoer `user`. */
export const BASE_RECIPE: TemplateRecipe = {
  name: 'base',
  from: { debootstrap: { suite: 'bookworm', include: ['bash', 'python3', 'python-is-python3', 'sudo', 'git', 'curl', 'ncurses-bin', 'ca-certificates', 'procps'] } },
  steps: [
    { run: 'useradd --create-home --shell /bin/bash --uid 1000 --user-group user && echo "user ALL=(ALL) NOPASSWD:ALL" > /etc/sudoers.d/user && chmod 0440 /etc/sudoers.d/user' },
    { run: 'apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log' },
    { env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/home/user', LANG: 'C.UTF-8' } },
    { user: 'user' },
    { workdir: '/home/user' },
  ],
};
