/**
 * Template commands. Through the server: `template build` (log streamed), `template ls`,
 * `template rm`. On this machine, without a server (the run script uses them before `serve`):
 * `template prepare [name]` builds the built-in `base` into the data directory (from the machine
 * cache when it is there), and `template import <name> <dir|tarball>` imports a root filesystem.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Template, type TemplateInfo, type TemplateRecipe, type TemplateStep } from '@hutch/sdk';
import type { Command } from 'commander';
import { defaultDataDir } from '../../server/data-dir.js';
import { BASE_RECIPE } from '../../templates/recipe.js';
import { TemplateStore } from '../../templates/store.js';
import { addDeleteCommand, connectionOf } from '../context.js';
import { UsageError } from '../errors.js';
import { collectKeyValue, parseDurationMs } from '../parse.js';
import { formatAge, formatBytes, printJson, printTable } from '../output.js';

interface BuildFlags {
  from: string;
  file?: string;
  run: string[];
  env: Record<string, string>;
  workdir?: string;
  user?: string;
  copy: string[];
  start?: string;
  ready?: string;
  readyTimeout?: number;
  quiet?: boolean;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerTemplateCommands(program: Command): void {
  const template = program.command('template').description('build and manage sandbox templates (build, ls, rm, prepare, import)');

  template
    .command('build')
    .description('build a template on the server; steps run in the order given: --env, --workdir, --user, --copy, then each --run')
    .argument('<name>', 'template name')
    .option('--from <template>', 'the template to start from', 'base')
    .option('-f, --file <recipe.json>', 'read the whole recipe (from, steps, start, ready) from a JSON file')
    .option('--run <command>', 'a command to run in the template (repeatable)', collect, [])
    .option('-e, --env <KEY=VALUE>', 'an env var of the template (repeatable)', collectKeyValue, {})
    .option('-w, --workdir <dir>', 'default working directory')
    .option('-u, --user <user>', 'default user (must exist in the template)')
    .option('--copy <hostFile:dest>', 'copy a host file into the template (repeatable)', collect, [])
    .option('--start <command>', 'started detached in every sandbox from this template')
    .option('--ready <command>', 'must exit 0 before such a sandbox is reported running')
    .option('--ready-timeout <duration>', 'how long to wait for --ready (default 30s)', parseDurationMs)
    .option('-q, --quiet', 'do not print the build log')
    .option('--json', 'print the template as JSON')
    .action(async (name: string, _flags: unknown, command: Command) => {
      const flags = command.opts<BuildFlags>();
      const recipe = flags.file ? { ...(JSON.parse(await readFile(flags.file, 'utf8')) as Omit<TemplateRecipe, 'name'>), name } : await recipeFromFlags(name, flags);
      const info = await Template.build(recipe, { ...connectionOf(command), onLog: flags.quiet ? undefined : (line) => process.stderr.write(`${line}\n`) });
      if (flags.json || command.optsWithGlobals<{ json?: boolean }>().json) printJson(info);
      else process.stdout.write(`${info.name} ${info.digest.slice(0, 12)} ${formatBytes(info.sizeBytes)}\n`);
    });

  template
    .command('ls')
    .alias('list')
    .description('list templates')
    .option('--json', 'print JSON')
    .action(async (_flags: unknown, command: Command) => {
      const items = await Template.list(connectionOf(command));
      if (command.optsWithGlobals<{ json?: boolean }>().json) return printJson(items);
      const now = new Date();
      printTable(['NAME', 'DIGEST', 'SIZE', 'USER', 'WORKDIR', 'BUILT'], items.map((t: TemplateInfo) => [t.name, t.digest.slice(0, 12), formatBytes(t.sizeBytes), t.user ?? '-', t.workdir ?? '-', formatAge(t.builtAt, now)]));
    });

  addDeleteCommand(template, { description: 'delete templates (their files go once nothing uses them)', argument: '<names...>', argumentHelp: 'template names' }, (name, connection) => Template.delete(name, connection));

  template
    .command('prepare')
    .description('build the built-in base template into the data directory now (no server needed; cached machine-wide)')
    .option('-d, --data-dir <dir>', 'data directory (default as for serve)')
    .action(async (_flags: unknown, command: Command) => {
      const { dataDir } = command.opts<{ dataDir?: string }>();
      const store = new TemplateStore({ dataDir: resolve(dataDir ?? defaultDataDir()), log: (line) => process.stderr.write(`${line}\n`) });
      const info = await store.build(BASE_RECIPE, (line) => process.stderr.write(`${line}\n`));
      process.stdout.write(`${info.name} ${info.digest.slice(0, 12)} ${formatBytes(info.sizeBytes)}\n`);
    });

  template
    .command('import')
    .description('import a root filesystem from a directory or tarball on this machine as a template (no server needed)')
    .argument('<name>', 'template name')
    .argument('<source>', 'a directory or a .tar / .tar.gz file')
    .option('-d, --data-dir <dir>', 'data directory (default as for serve)')
    .action(async (name: string, source: string, _flags: unknown, command: Command) => {
      const { dataDir } = command.opts<{ dataDir?: string }>();
      const store = new TemplateStore({ dataDir: resolve(dataDir ?? defaultDataDir()) });
      const path = resolve(source);
      const from = /\.(tar|tgz|tar\.gz|tar\.xz|tar\.zst)$/.test(path) ? { tarball: path } : { directory: path };
      const info = await store.build({ name, from }, (line) => process.stderr.write(`${line}\n`));
      process.stdout.write(`${info.name} ${info.digest.slice(0, 12)} ${formatBytes(info.sizeBytes)}\n`);
    });
}

/** A recipe from the build flags; `--copy` files are read here and sent inline. */
async function recipeFromFlags(name: string, flags: BuildFlags): Promise<TemplateRecipe> {
  const steps: TemplateStep[] = [];
  if (Object.keys(flags.env).length) steps.push({ env: flags.env });
  if (flags.workdir) steps.push({ workdir: flags.workdir });
  for (const spec of flags.copy) {
    const colon = spec.lastIndexOf(':');
    if (colon <= 0 || !spec.slice(colon + 1).startsWith('/')) throw new UsageError(`--copy needs hostFile:/absolute/dest, got "${spec}"`);
    steps.push({ copy: { dest: spec.slice(colon + 1), content: await readFile(spec.slice(0, colon), 'utf8') } });
  }
  for (const run of flags.run) steps.push({ run });
  if (flags.user) steps.push({ user: flags.user });
  const recipe: TemplateRecipe = { name, from: { template: flags.from }, steps };
  if (flags.start) recipe.start = flags.start;
  if (flags.ready) recipe.ready = flags.ready;
  if (flags.readyTimeout) recipe.readyTimeoutMs = flags.readyTimeout;
  return recipe;
}
