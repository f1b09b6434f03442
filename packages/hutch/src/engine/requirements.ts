/**
 * Capability matching, failing closed: the capabilities a request needs, checked against the
 * backend's report. A missing one is a `CapabilityMissingError` naming it, never a silent downgrade.
 */
import { CapabilityMissingError, UnsupportedHostError } from '../domain/errors.js';
import type { ExecSpec } from '../domain/process.js';
import type { NetworkPolicy, Resources } from '../domain/sandbox.js';
import { hasCapability, type Capability, type CapabilityReport } from '../port/capabilities.js';

export type Need = [Capability, string];

export function sandboxNeeds(request: { resources: Resources; network: NetworkPolicy; template?: string | undefined }): Need[] {
  const needs: Need[] = [];
  if (request.resources.memoryMib !== undefined) needs.push(['limits.memory', 'limit memory']);
  if (request.resources.pids !== undefined) needs.push(['limits.pids', 'limit the number of processes']);
  if (request.resources.vcpus !== undefined) needs.push(['limits.cpu', 'limit cpu']);
  if (request.resources.diskMib !== undefined) needs.push(['limits.disk', 'limit disk']);
  if (request.network.mode === 'none') needs.push(['network.none', 'guarantee no network']);
  if (request.network.mode === 'internet') needs.push(['network.internet', 'give the sandbox internet access']);
  if (request.network.mode === 'rules' || request.network.rules?.length || request.network.audit || request.network.inject?.length) {
    needs.push(['network.egress_rules', 'enforce egress rules, audit or inject secrets']);
  }
  if (request.network.exposedPorts?.length) needs.push(['network.port_forward', 'expose ports']);
  if (request.template !== undefined) needs.push(['templates', 'run a template root filesystem']);
  return needs;
}

export function execNeeds(spec: ExecSpec): Need[] {
  const needs: Need[] = [];
  if (spec.pty) needs.push(['exec.pty', 'run a process with a PTY']);
  if (spec.user) needs.push(['exec.user', 'run a process as another user']);
  if (spec.timeoutMs) needs.push(['exec.timeout', 'enforce a process timeout']);
  if (spec.keepStdinOpen || spec.stdin) needs.push(['exec.stdin', 'send stdin to a process']);
  return needs;
}

/** Throws unless the host is supported and every need is met. */
export function assertNeeds(backend: string, report: CapabilityReport, needs: Need[]): void {
  if (report.health.status === 'unsupported_host') throw new UnsupportedHostError(backend, report.health.missing);
  for (const [capability, why] of needs) {
    if (!hasCapability(report, capability)) throw new CapabilityMissingError(capability, backend, why);
  }
}
