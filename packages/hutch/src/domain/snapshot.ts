/** Snapshots: the saved state of a sandbox, restorable into new sandboxes. */

export type SnapshotKind = 'template' | 'continuation' | 'pause';

/** What a backend produced for a snapshot. `location` is backend-private (a host path) and never shown. */
export interface SnapshotArtifact {
  snapshotId: string;
  backend: string;
  kind: SnapshotKind;
  /** Backend-private location of the artifact. */
  location: string;
  sizeBytes: number;
  sha256: string;
  /** Whether process memory was captured (microVM, CRIU) or only the filesystem. */
  memory: boolean;
}

export interface SnapshotInfo {
  id: string;
  sandboxId: string;
  backend: string;
  kind: SnapshotKind;
  template: string | null;
  sizeBytes: number;
  sha256: string;
  memory: boolean;
  createdAt: string;
}
