/**
 * The per-sandbox certificate authority for HTTPS secret injection, made with the `openssl` CLI
 * (Node 20 cannot write X.509). The key stays in the sandbox's host directory (mode 0600, never
 * mounted into the sandbox); only the certificate is added to the sandbox's trust store. Leaf
 * certificates are issued on demand, one per host name that has injections, and cached.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BackendFailureError } from '../../domain/errors.js';

const run = promisify(execFile);

export interface SandboxCa {
  dir: string;
  certFile: string;
  keyFile: string;
}

export function caPaths(dir: string): SandboxCa {
  return { dir, certFile: join(dir, 'ca.crt'), keyFile: join(dir, 'ca.key') };
}

/** Creates the CA in `dir` unless it exists. Throws `BackendFailureError` when openssl fails. */
export async function ensureCa(dir: string, subject: string, opensslPath = '/usr/bin/openssl'): Promise<SandboxCa> {
  const ca = caPaths(dir);
  if (await stat(ca.certFile).then(() => true, () => false)) return ca;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    await run(opensslPath, [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', ca.keyFile, '-out', ca.certFile,
      '-days', '3650', '-subj', `/CN=${subject}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ], { timeout: 10_000 });
  } catch (err) {
    throw new BackendFailureError('Could not create the sandbox CA (openssl).', {}, { cause: err });
  }
  return ca;
}

/** A key and certificate for `host`, signed by the CA (PEM strings). */
export async function issueLeaf(ca: SandboxCa, host: string, opensslPath = '/usr/bin/openssl'): Promise<{ key: string; cert: string }> {
  const dir = join(ca.dir, 'leaf');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const base = join(dir, host.replace(/[^a-z0-9.-]/g, '_'));
  try {
    await run(opensslPath, [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.crt`,
      '-CA', ca.certFile, '-CAkey', ca.keyFile, '-days', '30', '-subj', `/CN=${host}`,
      '-addext', `subjectAltName=DNS:${host}`, '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'extendedKeyUsage=serverAuth',
    ], { timeout: 10_000 });
    const [key, cert] = await Promise.all([readFile(`${base}.key`, 'utf8'), readFile(`${base}.crt`, 'utf8')]);
    return { key, cert };
  } catch (err) {
    throw new BackendFailureError(`Could not issue a certificate for ${host} (openssl).`, {}, { cause: err });
  } finally {
    await rm(`${base}.key`, { force: true });
  }
}

/** The sandbox's trust bundle: the host's bundle (when readable) plus the sandbox CA. */
export async function trustBundle(ca: SandboxCa, hostBundle = '/etc/ssl/certs/ca-certificates.crt'): Promise<string> {
  const host = await readFile(hostBundle, 'utf8').catch(() => '');
  const own = await readFile(ca.certFile, 'utf8');
  return `${host}${host.endsWith('\n') || host === '' ? '' : '\n'}${own}`;
}
