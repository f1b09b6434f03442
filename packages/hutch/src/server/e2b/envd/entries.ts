/** Hutch file entries and events as envd's `EntryInfo` and `FilesystemEvent` (pure). */
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { FileEntry, FileEventType, FileType as HutchFileType } from '../../../domain/files.js';
import { EventType, FileType, type EntryInfoSchema } from './gen/filesystem_pb.js';

const FILE_TYPES: Record<HutchFileType, FileType> = {
  file: FileType.FILE,
  dir: FileType.DIRECTORY,
  symlink: FileType.SYMLINK,
  other: FileType.UNSPECIFIED,
};

const TYPE_LETTERS: Record<HutchFileType, string> = { file: '-', dir: 'd', symlink: 'l', other: '?' };

export const EVENT_TYPES: Record<FileEventType, EventType> = {
  create: EventType.CREATE,
  write: EventType.WRITE,
  remove: EventType.REMOVE,
  rename: EventType.RENAME,
  chmod: EventType.CHMOD,
};

/** `ls -l` style permissions: `-rw-r--r--`, `drwxr-xr-x`. */
export function permissionString(type: HutchFileType, mode: number): string {
  let out = TYPE_LETTERS[type];
  for (let shift = 6; shift >= 0; shift -= 3) {
    const bits = (mode >> shift) & 7;
    out += `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${bits & 1 ? 'x' : '-'}`;
  }
  return out;
}

/**
 * An `EntryInfo`. Owner and group are left empty: the port's `FileEntry` does not carry them yet.
 * A symlink's target is made absolute, as envd reports it.
 */
export function toEntryInfo(entry: FileEntry): MessageInitShape<typeof EntryInfoSchema> {
  const mode = entry.mode & 0o777;
  const modified = Date.parse(entry.modifiedAt);
  const target = entry.symlinkTarget;
  return {
    name: entry.name,
    type: FILE_TYPES[entry.type],
    path: entry.path,
    size: BigInt(entry.size),
    mode,
    permissions: permissionString(entry.type, mode),
    ...(Number.isNaN(modified) ? {} : { modifiedTime: timestampFromDate(new Date(modified)) }),
    ...(target !== undefined ? { symlinkTarget: target.startsWith('/') ? target : `${entry.path.slice(0, entry.path.lastIndexOf('/')) || ''}/${target}` } : {}),
  };
}
