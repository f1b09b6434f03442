/**
 * The unmodified `e2b` SDK against a real Hutch server on the process tier with the `base`
 * template: the same cases with the pinned 2.51 SDK and with 2.45 (installed as `e2b-245`), which
 * uses the v1 create/connect paths and checks the `e2b_` key format. Skips, saying why, where the
 * host lacks the process tier or debootstrap for the base template.
 */
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import * as e2b251 from 'e2b';
import * as e2b245 from 'e2b-245';
import { createProcessBackend } from '../../src/backends/process/index.js';
import { BackendRegistry } from '../../src/port/registry.js';
import { generateApiKey } from '../../src/server/auth.js';
import { e2bApiKeyFor } from '../../src/server/e2b/index.js';
import { serve, type RunningServer } from '../../src/server/serve.js';
import { TemplateStore } from '../../src/templates/store.js';
import { hostSkipReason } from '../process/helpers.js';
import { runE2bCases, type E2bModule } from './cases.js';

const skip = (await hostSkipReason()) ?? (existsSync('/usr/sbin/debootstrap') ? undefined : 'debootstrap is not installed (needed for the base template)');
if (skip) console.log(`# e2b-compat skipped: ${skip}`);

const ENV_NAMES = ['E2B_API_URL', 'E2B_SANDBOX_URL', 'E2B_API_KEY', 'E2B_DOMAIN', 'E2B_DEBUG'] as const;

describe('the e2b SDK against Hutch (process tier, base template)', { skip }, () => {
  let dataDir: string;
  let server: RunningServer;
  const url = { value: '' };
  const saved = Object.fromEntries(ENV_NAMES.map((n) => [n, process.env[n]]));

  before(async () => {
    dataDir = mkdtempSync('/var/tmp/hutch-e2b-');
    chmodSync(dataDir, 0o711);
    const apiKey = generateApiKey();
    server = await serve({
      registry: new BackendRegistry().register(createProcessBackend({ dataDir: join(dataDir, 'process') })),
      dataDir,
      host: '127.0.0.1',
      port: 0,
      apiKey,
      quiet: true,
      handleSignals: false,
      engine: { templates: new TemplateStore({ dataDir }) },
    });
    url.value = server.url;
    for (const name of ENV_NAMES) delete process.env[name];
    process.env.E2B_API_URL = server.url;
    process.env.E2B_SANDBOX_URL = server.url;
    process.env.E2B_API_KEY = e2bApiKeyFor(apiKey);
  });

  after(async () => {
    for (const s of server.engine.list({ state: ['running', 'paused', 'stopped'], limit: 1000 }).items) await server.engine.lifecycle.destroy(s.id);
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
    for (const name of ENV_NAMES) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  const options = {
    get url() {
      return url.value;
    },
  };
  runE2bCases('2.51', e2b251, options);
  runE2bCases('2.45', e2b245 as unknown as E2bModule, options);
});
