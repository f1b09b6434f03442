/**
 * Snapshot commands: `snapshot <id>` (take one), `snapshot ls`, `snapshot rm`, `snapshot restore`,
 * `snapshot fork`, and `snapshot export` / `snapshot import` (a portable file).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Sandbox, Snapshots, type SnapshotInfo, type SnapshotKind } from '@hutch/sdk';
import { Option, type Command } from 'commander';
import { addDeleteCommand, connectionOf, openSandbox } from '../context.js';
import { formatAge, formatBytes, printJson, printTable } from '../output.js';
import { parsePositiveInt } from '../parse.js';
import { withSpinner } from '../spinner.js';

export function registerSnapshotCommands(program: Command): void {
  const snapshot = program
    .command('snapshot')
    .description('take a snapshot of a sandbox (or manage snapshots: ls, rm, restore, fork)')
    .argument('[id]', 'sandbox to snapshot')
    .addOption(new Option('-k, --kind <kind>', 'snapshot kind').choices(['continuation', 'pause', 'template']))
    .option('--json', 'print the snapshot as JSON')
    .action(async (id: string | undefined, flags: { kind?: SnapshotKind; json?: boolean }, command: Command) => {
      if (!id) return command.help({ error: true });
      const sandbox = await openSandbox(command, id);
      const info = await withSpinner(`snapshotting ${id}`, () => sandbox.snapshots.create(flags.kind ? { kind: flags.kind } : {}));
      if (flags.json) printJson(info);
      else process.stdout.write(`${info.id}\n`);
    });

  snapshot
    .command('ls')
    .alias('list')
    .description('list snapshots')
    .option('-s, --sandbox <id>', 'only snapshots of this sandbox')
    .option('--json', 'print JSON')
    .action(async (_flags: unknown, command: Command) => {
      const flags = command.optsWithGlobals<{ sandbox?: string; json?: boolean }>();
      const items = await Snapshots.list({ ...connectionOf(command), ...(flags.sandbox ? { sandboxId: flags.sandbox } : {}) });
      if (flags.json) return printJson(items);
      const now = new Date();
      printTable(['ID', 'SANDBOX', 'KIND', 'BACKEND', 'SIZE', 'MEMORY', 'AGE'], items.map((s: SnapshotInfo) => [s.id, s.sandboxId, s.kind, s.backend, formatBytes(s.sizeBytes), s.memory ? 'yes' : 'no', formatAge(s.createdAt, now)]));
    });

  addDeleteCommand(snapshot, { description: 'delete snapshots', argument: '<snapshotIds...>', argumentHelp: 'snapshot ids' }, (id, connection) => Snapshots.delete(id, connection));

  snapshot
    .command('restore')
    .description('create a sandbox from a snapshot and print its id')
    .argument('<snapshotId>', 'snapshot id')
    .option('--json', 'print the new sandbox as JSON')
    .action(async (snapshotId: string, _flags: unknown, command: Command) => {
      const flags = command.optsWithGlobals<{ json?: boolean }>();
      const sandbox = await withSpinner(`restoring ${snapshotId}`, () => Sandbox.fromSnapshot(snapshotId, connectionOf(command)));
      if (flags.json) printJson({ ...sandbox.info, accessToken: sandbox.accessToken });
      else process.stdout.write(`${sandbox.id}\n`);
    });

  snapshot
    .command('fork')
    .description('create N sandboxes from one snapshot and print their ids')
    .argument('<snapshotId>', 'snapshot id')
    .option('-n, --count <n>', 'how many sandboxes', parsePositiveInt, 2)
    .option('--json', 'print the new sandboxes as JSON')
    .action(async (snapshotId: string, _flags: unknown, command: Command) => {
      // `--json` may land on the parent `snapshot` command, which has the same option.
      const flags = command.optsWithGlobals<{ count: number; json?: boolean }>();
      const sandboxes = await withSpinner(`forking ${snapshotId} ×${flags.count}`, () => Snapshots.fork(snapshotId, flags.count, connectionOf(command)));
      if (flags.json) printJson(sandboxes.map((s) => ({ ...s.info, accessToken: s.accessToken })));
      else process.stdout.write(sandboxes.map((s) => `${s.id}\n`).join(''));
    });

  snapshot
    .command('export')
    .description('write a snapshot to a portable file')
    .argument('<snapshotId>', 'snapshot id')
    .argument('<file>', 'where to write it')
    .action(async (snapshotId: string, file: string, _flags: unknown, command: Command) => {
      const stream = await withSpinner(`exporting ${snapshotId}`, () => Snapshots.export(snapshotId, connectionOf(command)));
      await pipeline(Readable.fromWeb(stream as never), createWriteStream(file, { mode: 0o600 }));
      process.stdout.write(`${file}\n`);
    });

  snapshot
    .command('import')
    .description('import a snapshot file made by export, and print the new snapshot id')
    .argument('<file>', 'the snapshot file')
    .option('--json', 'print the snapshot as JSON')
    .action(async (file: string, _flags: unknown, command: Command) => {
      const body = Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
      const info = await withSpinner(`importing ${file}`, () => Snapshots.import(body, connectionOf(command)));
      if (command.optsWithGlobals<{ json?: boolean }>().json) printJson(info);
      else process.stdout.write(`${info.id}\n`);
    });
}
