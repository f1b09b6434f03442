/** Converts stored sandbox rows to the `SandboxInfo` read model (no env values, no runtime record). */
import type { SandboxInfo } from '../domain/sandbox.js';
import type { SandboxState } from '../domain/sandbox-state.js';
import type { SandboxRow } from './store.js';

export function toSandboxInfo(row: SandboxRow): SandboxInfo {
  return {
    id: row.id,
    backend: row.backend,
    template: row.template,
    state: row.state as SandboxState,
    failureReason: row.failure_reason,
    resources: JSON.parse(row.resources),
    network: JSON.parse(row.network),
    metadata: JSON.parse(row.metadata),
    envKeys: Object.keys(JSON.parse(row.env) as Record<string, string>).sort(),
    createdAt: row.created_at,
    deadlineAt: row.deadline_at,
    onTimeout: row.on_timeout as SandboxInfo['onTimeout'],
    destroyedAt: row.destroyed_at,
  };
}

/** Opaque list cursor: the (createdAt, id) of the last item returned. */
export function encodeCursor(row: { created_at: string; id: string }): string {
  return Buffer.from(JSON.stringify([row.created_at, row.id])).toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: string; id: string } | undefined {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as [string, string];
    if (typeof createdAt === 'string' && typeof id === 'string') return { createdAt, id };
  } catch {
    // fall through: an unreadable cursor is reported by the caller
  }
  return undefined;
}
