/**
 * Process-tier additions to the shared overlay root (host/overlay.ts): setuid inside the sandbox.
 */
import { runTool } from '../../host/overlay.js';

export { mountOverlay, unmountOverlay } from '../../host/overlay.js';

/**
 * Lets setuid programs of the template (sudo) work inside the sandbox: bwrap binds the root
 * `nosuid`; this remounts it `suid` from inside the sandbox's own user and mount namespaces, where
 * setuid can only ever reach the sandbox's root (host uid 100000), never host root. The mount was
 * made in the sandbox's namespace, so its flags are not locked. Template roots only: the host-root
 * view keeps `nosuid` (its setuid files belong to host root).
 */
export async function allowSetuid(initPid: number, nsenterPath = '/usr/bin/nsenter'): Promise<void> {
  await runTool([nsenterPath, '-t', String(initPid), '-U', '-m', '--', 'mount', '-o', 'remount,bind,suid', '/'], 'Enabling setuid in the sandbox root');
}
