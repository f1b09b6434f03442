/**
 * The host side of workspaces: the codebase store and per-sandbox workspaces (base tree, overlay,
 * changes, checkpoints, revert, commit), as one `WorkspaceProvider` for the engine.
 */
import type { WorkspaceProvider } from '../engine/workspaces.js';
import { CodebaseStore } from './codebase-store.js';
import { WorkspaceManager } from './workspace-manager.js';

export { CodebaseStore, CodebaseNotFoundError, type CodebaseInfo } from './codebase-store.js';
export { WorkspaceManager } from './workspace-manager.js';

/** Codebases under `<dataDir>/codebases`, workspaces under `<dataDir>/workspaces`. Needs root (overlay mounts). */
export function createWorkspaceProvider(dataDir: string): WorkspaceProvider {
  return new WorkspaceManager(dataDir, new CodebaseStore(dataDir));
}
