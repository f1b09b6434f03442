/** The microVM backend (TCG opt-in on this host) runs the shared conformance suite, or skips it naming what the host lacks. */
import { after } from 'node:test';
import { runConformance } from '../../../test/conformance/index.js';
import { microvmTestSetup } from '../../../test/microvm/helpers.js';

const setup = await microvmTestSetup('hutch-microvm-conf-');
after(() => setup.cleanup());

runConformance({
  name: 'microvm (tcg)',
  create: async () => setup.create(),
  reopen: async () => setup.create(),
  spec: { template: 'base', rootfsPath: setup.rootfsPath },
  ...(setup.skipReason ? { skipReason: setup.skipReason } : {}),
});
