/** The process (bubblewrap) backend runs the shared conformance suite, or skips it naming what the host lacks. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { runConformance } from '../../../test/conformance/index.js';
import { createProcessBackend } from './index.js';
import { missingPrerequisites, probeHost } from './capabilities.js';
import { DEFAULT_TOOLS } from './capabilities.js';

const missing = missingPrerequisites(await probeHost(DEFAULT_TOOLS));
const dataDir = mkdtempSync(join(tmpdir(), 'hutch-process-conf-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

runConformance({
  name: 'process',
  create: async () => createProcessBackend({ dataDir }),
  reopen: async () => createProcessBackend({ dataDir }),
  ...(missing.length > 0 ? { skipReason: `process backend unsupported here: missing ${missing.join(', ')}` } : {}),
});
