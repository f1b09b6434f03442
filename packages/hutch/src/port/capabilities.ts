/**
 * Capability names and the report every backend gives about itself. The engine refuses a request
 * that needs a capability the backend lacks (fail closed); the conformance suite skips a case only
 * when a capability is missing, and prints which.
 */

export const CAPABILITIES = [
  'lifecycle.stop',          // stop then start again, files kept
  'lifecycle.pause',         // pause/resume with processes frozen
  'exec.stdin',
  'exec.signal',
  'exec.pty',
  'exec.timeout',
  'exec.user',               // run as another user
  'exec.background',         // processes outlive the request that started them; reattach
  'files',                   // read/write/list/stat/mkdir/move/remove
  'files.watch',
  'fs.read_only_root',
  'fs.writable_layer',
  'limits.memory',
  'limits.pids',
  'limits.cpu',
  'limits.disk',
  'network.none',            // own namespace, loopback only: the no-network guarantee
  'network.internet',
  'network.egress_rules',    // rules by domain/CIDR, audit, decision log, edge secret injection, live policy changes
  'network.port_forward',
  'stats',
  'snapshot.filesystem',
  'snapshot.memory',
  'snapshot.export',         // artifacts as bytes: export to a file, import elsewhere
  'recovery.adopt',          // sandboxes survive a server restart
  'recovery.reclaim',
  'seccomp',
  'templates',               // runs on a template root filesystem
  'workspaces',              // mounts a codebase's binds (spec.workspace) at the sandbox path
] as const;

export type Capability = (typeof CAPABILITIES)[number];

export type BackendHealth =
  | { status: 'healthy' }
  | { status: 'degraded'; reason: string }
  | { status: 'unsupported_host'; missing: string[] };

export interface PlatformReport {
  os: string;
  arch: string;
  kernel: string;
  /** True when isolation is emulated (e.g. TCG): then it is not a security boundary. */
  emulated: boolean;
}

export interface CapabilityReport {
  /** Backend kind: `fake`, `process`, `container`, `microvm`. */
  kind: string;
  /** Adapter version plus the mechanism's version, e.g. `process/1 bwrap 0.8.0`. */
  version: string;
  health: BackendHealth;
  platform: PlatformReport;
  capabilities: Capability[];
  /** Free-form facts worth showing an operator (cgroup mode, runtime chosen...). No secrets. */
  notes: Record<string, string>;
}

/** True when the report lists `capability` and the host is supported. */
export function hasCapability(report: CapabilityReport, capability: Capability): boolean {
  return report.health.status !== 'unsupported_host' && report.capabilities.includes(capability);
}
