/**
 * Recovery on start: replays what the journal and store say against what the backends find.
 * 1. Every intent without an outcome gets a `repair` record naming why.
 * 2. Every live sandbox is adopted (state taken from the backend) or, if gone or never finished
 *    creating, reclaimed and marked `failed` with a reason.
 * 3. Processes that were running when the server stopped end with reason `lost`.
 * Deadlines are re-armed by the caller from the surviving rows.
 */
import { HutchError } from '../domain/errors.js';
import type { SandboxState } from '../domain/sandbox-state.js';
import type { EngineContext } from './context.js';

export interface RecoveryReport {
  adopted: string[];
  failed: Array<{ sandboxId: string; reason: string }>;
  destroyed: string[];
  repairs: number;
}

export async function recover(ctx: EngineContext): Promise<RecoveryReport> {
  const report: RecoveryReport = { adopted: [], failed: [], destroyed: [], repairs: 0 };
  const unfinished = ctx.store.unfinishedIntents();
  const interruptedDestroy = new Set<string>();
  for (const intent of unfinished) {
    ctx.journal.markRepair(intent, `the server stopped before the outcome of "${intent.effect}" was recorded`);
    if (intent.effect === 'destroy' && intent.sandbox_id) interruptedDestroy.add(intent.sandbox_id);
    report.repairs++;
  }
  ctx.store.endRunningProcesses('lost');

  for (const row of ctx.store.listSandboxes({ states: ['creating', 'running', 'paused', 'stopped'], pool: 'any' })) {
    const id = row.id;
    const backend = ctx.registry.has(row.backend) ? ctx.backendOf(row) : undefined;
    const runtime = JSON.parse(row.runtime) as Record<string, unknown>;
    const fail = async (reason: string) => {
      if (backend) {
        try {
          await ctx.journal.effect({ sandboxId: id, effect: 'reclaim', summary: { reason } }, () => backend.reclaim(id, runtime));
        } catch (err) {
          ctx.logger.error({ sandboxId: id, code: err instanceof HutchError ? err.code : 'internal' }, 'reclaim during recovery failed');
        }
      }
      const destroyed = interruptedDestroy.has(id);
      ctx.setState(id, destroyed ? 'destroyed' : 'failed', { failure_reason: destroyed ? null : reason, destroyed_at: ctx.now(), deadline_at: null });
      ctx.events.emit(id, destroyed ? 'sandbox.destroyed' : 'sandbox.failed', { reason, during: 'recovery' });
      if (destroyed) report.destroyed.push(id);
      else report.failed.push({ sandboxId: id, reason });
    };

    if (!backend) await fail(`lost: backend "${row.backend}" is not configured on this server`);
    else if (row.state === 'creating') await fail('lost: the server stopped while the sandbox was being created');
    else if (interruptedDestroy.has(id)) await fail('destroy interrupted by a server stop');
    else {
      try {
        const outcome = await ctx.journal.effect({ sandboxId: id, effect: 'adopt', summary: { state: row.state } }, () => backend.adopt(id, runtime));
        if (outcome.status === 'gone') await fail(`lost: ${outcome.reason}`);
        else {
          ctx.saveRuntime(id, outcome.record);
          ctx.setState(id, outcome.state as SandboxState);
          ctx.events.emit(id, 'sandbox.adopted', { state: outcome.state });
          report.adopted.push(id);
        }
      } catch (err) {
        await fail(`lost: adopt failed (${err instanceof HutchError ? err.code : 'internal'})`);
      }
    }
  }
  ctx.logger.info({ adopted: report.adopted.length, failed: report.failed.length, repairs: report.repairs }, 'recovery finished');
  return report;
}
