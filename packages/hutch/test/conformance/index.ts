/**
 * The conformance suite: what every isolation backend must do, one set of tests parameterised by
 * backend. A backend's `conformance.test.ts` calls `runConformance`. A case skips only when the
 * backend's capability report lacks what it needs (or reports `unsupported_host`), and the skip
 * prints what is missing.
 */
import { after, before, describe, it } from 'node:test';
import type { CapabilityReport } from '../../src/port/capabilities.js';
import type { IsolationBackend } from '../../src/port/isolation-backend.js';
import { execCases } from './exec.js';
import { filesCases } from './files.js';
import type { ConformanceOptions, Suite } from './harness.js';
import { lifecycleCases } from './lifecycle.js';
import { portCases } from './ports.js';
import { recoveryCases } from './recovery.js';
import { snapshotCases } from './snapshots.js';

export type { ConformanceOptions } from './harness.js';

/**
 * Registers the suite for one backend. With `skipReason` (host lacks the backend entirely), every
 * area is registered as skipped with that reason, so the gap shows in the test report.
 */
export function runConformance(options: ConformanceOptions & { skipReason?: string }): void {
  describe(`conformance: ${options.name}`, () => {
    if (options.skipReason) {
      it('runs the conformance suite', (t) => t.skip(options.skipReason));
      return;
    }
    let backend: IsolationBackend | undefined;
    let report: CapabilityReport | undefined;
    const suite: Suite = {
      options,
      backend: () => backend ?? raise('backend not created'),
      report: () => report ?? raise('capabilities not read'),
    };
    before(async () => {
      backend = await options.create();
      report = await backend.capabilities();
    });
    after(async () => {
      await backend?.close();
    });
    lifecycleCases(suite);
    execCases(suite);
    filesCases(suite);
    snapshotCases(suite);
    portCases(suite);
    recoveryCases(suite);
  });
}

function raise(message: string): never {
  throw new Error(message);
}
