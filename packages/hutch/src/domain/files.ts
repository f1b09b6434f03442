/** Files inside a sandbox, as the files API reports them. Paths are sandbox paths, never host paths. */

export type FileType = 'file' | 'dir' | 'symlink' | 'other';

export interface FileEntry {
  name: string;
  /** Absolute path inside the sandbox. */
  path: string;
  type: FileType;
  size: number;
  /** Permission bits, e.g. 0o644. */
  mode: number;
  modifiedAt: string;
  symlinkTarget?: string;
}

export type FileEventType = 'create' | 'write' | 'remove' | 'rename' | 'chmod';

export interface FileEvent {
  type: FileEventType;
  /** Absolute path inside the sandbox. */
  path: string;
}
