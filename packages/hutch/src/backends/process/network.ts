/**
 * Sandbox networking. `none` needs nothing here: bwrap's own network namespace has only `lo`, so
 * the host's 127.0.0.1 is another machine's loopback and nothing else is routable. `internet`
 * attaches slirp4netns to that namespace (host/slirp.ts).
 * Port forwarding (`connectPort`) is in ports.ts.
 */
import { startSlirp } from '../../host/slirp.js';
import type { BackendContext, ProcessSandbox } from './context.js';
import { cgroupProcsFiles } from './plan.js';

/** Attaches slirp4netns to the init's network namespace and waits until it has configured tap0. */
export async function startNetwork(ctx: BackendContext, sandbox: ProcessSandbox, initPid: number, timeoutMs = 10_000): Promise<void> {
  await startSlirp({
    backend: 'process', sandboxId: sandbox.id, initPid, cgroupProcs: cgroupProcsFiles(ctx.layout, sandbox.id),
    logFile: `${sandbox.paths.dir}/slirp.log`, slirpPath: ctx.tools.slirp4netns, perlPath: ctx.tools.perl, timeoutMs,
  });
}
