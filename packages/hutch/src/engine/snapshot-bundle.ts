/**
 * The portable snapshot file: a first line `HUTCH-SNAPSHOT/1`, a second line of JSON describing
 * the snapshot (kind, backend, template, size, sha256), then the backend artifact's bytes. The
 * importer checks size and sha256 of the bytes against the header before keeping anything.
 */
import { BadRequestError } from '../domain/errors.js';
import type { SnapshotInfo } from '../domain/snapshot.js';

export const BUNDLE_MAGIC = 'HUTCH-SNAPSHOT/1';

/** What the file says about the snapshot: its record, less the ids that are local to one server. */
export type BundleHeader = Omit<SnapshotInfo, 'id' | 'sandboxId'>;

export async function* writeBundle(header: BundleHeader, artifact: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield Buffer.from(`${BUNDLE_MAGIC}\n${JSON.stringify(header)}\n`);
  yield* artifact;
}

/** Splits a bundle stream into its header and the artifact bytes that follow it. */
export async function readBundle(stream: AsyncIterable<Uint8Array>): Promise<{ header: BundleHeader; body: AsyncIterable<Uint8Array> }> {
  const iterator = stream[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let newlines: number[] = [];
  while (newlines.length < 2) {
    const next = await iterator.next();
    if (next.done) throw new BadRequestError('This is not a Hutch snapshot file (it ended before its header).');
    head = Buffer.concat([head, Buffer.from(next.value)]);
    newlines = [];
    for (let i = head.indexOf(10); i >= 0 && newlines.length < 2; i = head.indexOf(10, i + 1)) newlines.push(i);
    if (head.length > 64 * 1024 && newlines.length < 2) throw new BadRequestError('This is not a Hutch snapshot file (no header found).');
  }
  if (head.subarray(0, newlines[0]).toString() !== BUNDLE_MAGIC) throw new BadRequestError(`This is not a Hutch snapshot file (expected ${BUNDLE_MAGIC}).`);
  let header: BundleHeader;
  try {
    header = JSON.parse(head.subarray(newlines[0]! + 1, newlines[1]).toString()) as BundleHeader;
  } catch {
    throw new BadRequestError('The snapshot file header is not valid JSON.');
  }
  if (typeof header.backend !== 'string' || !Number.isInteger(header.sizeBytes) || !/^[0-9a-f]{64}$/.test(String(header.sha256))) throw new BadRequestError('The snapshot file header is incomplete.');
  const rest = head.subarray(newlines[1]! + 1);
  const body = (async function* () {
    if (rest.length) yield rest;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  })();
  return { header, body };
}
