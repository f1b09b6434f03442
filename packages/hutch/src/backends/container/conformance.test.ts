/** The container backend runs the shared conformance suite on the `base` template, or skips naming what the host lacks. */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';
import { runConformance } from '../../../test/conformance/index.js';
import { baseRootfs, containerSkipReason } from '../../../test/container/helpers.js';
import { createContainerBackend } from './index.js';

const skip = await containerSkipReason();
const dataDir = mkdtempSync(join('/var/tmp', 'hutch-container-conf-'));
chmodSync(dataDir, 0o711);
const rootfsPath = skip ? undefined : await baseRootfs(dataDir);
after(() => rmSync(dataDir, { recursive: true, force: true }));

runConformance({
  name: 'container',
  create: async () => createContainerBackend({ dataDir }),
  reopen: async () => createContainerBackend({ dataDir }),
  spec: { rootfsPath },
  ...(skip ? { skipReason: skip } : {}),
});
