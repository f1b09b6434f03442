/**
 * E2B snapshot names (`createSnapshot({name})`), kept in the engine's settings beside the snapshot
 * ids. A snapshot is then addressed as a template by its id or any of its names
 * (`Sandbox.create(snapshotId)`, `DELETE /templates/{id}`).
 */
import type { SnapshotInfo } from '../../domain/snapshot.js';
import type { SettingsStore } from '../auth.js';

const PREFIX = 'e2b-snapshot-names:';

export class SnapshotNames {
  constructor(private readonly settings: SettingsStore) {}

  get(snapshotId: string): string[] {
    const raw = this.settings.get(PREFIX + snapshotId);
    return raw ? (JSON.parse(raw) as string[]) : [];
  }

  set(snapshotId: string, names: string[]): void {
    this.settings.set(PREFIX + snapshotId, JSON.stringify(names));
  }

  delete(snapshotId: string): void {
    this.settings.set(PREFIX + snapshotId, '[]');
  }

  /** The snapshot `idOrName` names among `snapshots` (by id first, then by name), if any. */
  resolve(idOrName: string, snapshots: SnapshotInfo[]): string | undefined {
    return snapshots.find((s) => s.id === idOrName)?.id ?? snapshots.find((s) => this.get(s.id).includes(idOrName))?.id;
  }
}
