/**
 * The per-sandbox egress CA of the host-based tiers (docs/network.md, "Secrets injected at the
 * edge"): a sandbox with secrets gets its own CA, whose key stays in the sandbox's host dir
 * (`egress-ca/`, 0700, never mounted); the trust bundle (host roots + the CA certificate) is
 * written into the sandbox's generated `etc` dir and bound read-only over the system bundle, so
 * the egress proxy can terminate TLS for hosts with injections.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SandboxSpec } from '../../domain/sandbox.js';
import { ensureCa, trustBundle } from './ca.js';
import { caDir } from './sandbox-egress.js';

/** The system CA bundle (Debian's, read by curl, OpenSSL, Python `ssl`) inside the sandbox. */
export const CA_BUNDLE_PATH = '/etc/ssl/certs/ca-certificates.crt';
/** The generated bundle's name in the sandbox's host `etc` dir. */
export const CA_BUNDLE_FILE = 'ca-certificates.crt';

/** Whether the sandbox gets its own egress CA and trust bundle: only when it has secrets to inject. */
export function wantsSandboxCa(spec: Pick<SandboxSpec, 'secrets'>): boolean {
  return (spec.secrets?.length ?? 0) > 0;
}

/** The sandbox's egress CA (created on first use, kept in its host dir), for every tier. */
export function ensureSandboxCa(sandboxId: string, dir: string): ReturnType<typeof ensureCa> {
  return ensureCa(caDir(dir), `Hutch sandbox ${sandboxId} egress CA`);
}

/**
 * Creates the sandbox CA and writes the trust bundle (mode 0644: read through a read-only bind)
 * into `paths.etc`, when the sandbox has secrets. Throws `BackendFailureError` when openssl fails.
 */
export async function prepareSandboxCa(sandbox: { id: string; spec: Pick<SandboxSpec, 'secrets'>; paths: { dir: string; etc: string } }): Promise<void> {
  if (!wantsSandboxCa(sandbox.spec)) return;
  const ca = await ensureSandboxCa(sandbox.id, sandbox.paths.dir);
  await writeFile(join(sandbox.paths.etc, CA_BUNDLE_FILE), await trustBundle(ca), { mode: 0o644 });
}
