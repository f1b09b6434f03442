/**
 * The files API of a sandbox, over its backend: state checks here, confinement in the backend
 * (every backend refuses `..` and symlink escapes; see port/isolation-backend.ts).
 */
import type { FileEntry, FileEvent } from '../domain/files.js';
import { assertStateIn, type SandboxState } from '../domain/sandbox-state.js';
import type { CallOptions, IsolationBackend, WriteFileOptions } from '../port/isolation-backend.js';
import type { EngineContext } from './context.js';

export class Files {
  constructor(private readonly ctx: EngineContext) {}

  /** Files are reachable while the sandbox runs. */
  private backend(sandboxId: string): IsolationBackend {
    const row = this.ctx.row(sandboxId);
    assertStateIn(row.state as SandboxState, ['running'], 'use the files of');
    return this.ctx.backendOf(row);
  }

  read(sandboxId: string, path: string, options?: CallOptions): Promise<AsyncIterable<Uint8Array>> {
    return this.backend(sandboxId).readFile(sandboxId, path, options);
  }

  write(sandboxId: string, path: string, data: Uint8Array | AsyncIterable<Uint8Array>, options?: WriteFileOptions & CallOptions): Promise<FileEntry> {
    return this.backend(sandboxId).writeFile(sandboxId, path, data, options);
  }

  list(sandboxId: string, path: string, options?: { depth?: number } & CallOptions): Promise<FileEntry[]> {
    return this.backend(sandboxId).listFiles(sandboxId, path, options);
  }

  stat(sandboxId: string, path: string, options?: CallOptions): Promise<FileEntry> {
    return this.backend(sandboxId).stat(sandboxId, path, options);
  }

  mkdir(sandboxId: string, path: string, options?: { parents?: boolean } & CallOptions): Promise<FileEntry> {
    return this.backend(sandboxId).mkdir(sandboxId, path, options);
  }

  move(sandboxId: string, from: string, to: string, options?: CallOptions): Promise<FileEntry> {
    return this.backend(sandboxId).move(sandboxId, from, to, options);
  }

  remove(sandboxId: string, path: string, options?: { recursive?: boolean } & CallOptions): Promise<void> {
    return this.backend(sandboxId).remove(sandboxId, path, options);
  }

  watch(sandboxId: string, path: string, options?: { recursive?: boolean } & CallOptions): AsyncIterable<FileEvent> {
    return this.backend(sandboxId).watch(sandboxId, path, options);
  }
}
