/**
 * Sandbox networking. `none` needs nothing here: bwrap's own network namespace has only `lo`, so
 * the host's 127.0.0.1 is another machine's loopback and nothing else is routable. `internet`
 * attaches slirp4netns (user-mode TCP/IP) to that namespace with `--disable-host-loopback`, so
 * the sandbox reaches the internet through the host's stack but never the host's own loopback
 * services. slirp4netns joins the sandbox's cgroup through the prelude, so killing the sandbox's
 * cgroup stops it too and reclaim needs no record of it.
 * Port forwarding is not offered (see README: the port has no method to open a connection).
 */
import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import { BackendFailureError, CapabilityMissingError } from '../../domain/errors.js';
import type { BackendContext, ProcessSandbox } from './context.js';
import { cgroupProcsFiles, planSlirpArgv } from './plan.js';
import { preludeArgv } from '../../host/prelude.js';
import { access } from 'node:fs/promises';
import { constants } from 'node:fs';

/** Attaches slirp4netns to the init's network namespace and waits until it has configured tap0. */
export async function startNetwork(ctx: BackendContext, sandbox: ProcessSandbox, initPid: number, timeoutMs = 10_000): Promise<void> {
  const present = await access(ctx.tools.slirp4netns, constants.X_OK).then(() => true, () => false);
  if (!present) throw new CapabilityMissingError('network.internet', 'process', 'give a sandbox internet access (install slirp4netns)');
  const argv = preludeArgv({ cgroupProcs: cgroupProcsFiles(ctx.layout, sandbox.id), argv: planSlirpArgv(initPid, 3, ctx.tools.slirp4netns) }, ctx.tools.perl);
  const log = await open(`${sandbox.paths.dir}/slirp.log`, 'w', 0o600);
  try {
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', log.fd, log.fd, 'pipe'], env: { PATH: '/usr/bin:/bin' }, cwd: '/' });
    child.once('error', () => undefined);
    const ready = child.stdio[3] as NodeJS.ReadableStream;
    const ok = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      ready.once('data', () => {
        clearTimeout(timer);
        resolve(true);
      });
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    (ready as NodeJS.ReadableStream & { destroy(): void }).destroy();
    child.unref();
    if (!ok) throw new BackendFailureError('slirp4netns did not configure the sandbox network.', { sandboxId: sandbox.id });
  } finally {
    await log.close();
  }
}
