/**
 * A template's start and ready commands, run once a sandbox from it is up: `start` is launched
 * detached (tag `template-start`); `ready` is retried until it exits 0, or the sandbox fails with
 * `TemplateNotReadyError` after `readyTimeoutMs` (default 30 s).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { HutchError, TemplateNotReadyError } from '../domain/errors.js';
import type { ResolvedTemplate } from './lifecycle.js';
import type { Processes } from './processes.js';

export function templateStartHook(processes: Processes) {
  return async (sandboxId: string, template: ResolvedTemplate): Promise<void> => {
    if (template.startCommand) await processes.start(sandboxId, { shell: template.startCommand, tag: 'template-start' });
    if (!template.readyCommand) return;
    const timeoutMs = template.readyTimeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    let lastExitCode: number | null = null;
    while (Date.now() < deadline) {
      try {
        const result = await processes.run(sandboxId, { shell: template.readyCommand, timeoutMs: Math.max(100, deadline - Date.now()) });
        if (result.exitCode === 0) return;
        lastExitCode = result.exitCode;
      } catch (err) {
        if (!(err instanceof HutchError) || err.code !== 'process_timeout') throw err;
      }
      await sleep(Math.min(200, Math.max(0, deadline - Date.now())));
    }
    throw new TemplateNotReadyError(template.name, timeoutMs, lastExitCode);
  };
}
