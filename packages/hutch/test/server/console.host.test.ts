import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../engine/helpers.js';
import { API_KEY, createSandbox, openTestServer, type TestServer } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const missing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed`;
if (missing) console.log(`# skipping the console test: ${missing}`);

describe('web console', { skip: missing }, () => {
  let server: TestServer;
  const shots = tempDir('hutch-console-');
  before(async () => {
    server = await openTestServer({ listen: true });
  });
  after(async () => {
    await server.close();
    rmSync(shots, { recursive: true, force: true });
  });

  it('lists the sandboxes with their states once the API key is entered', async () => {
    const running = await createSandbox(server, { metadata: { role: 'web' } });
    const paused = await createSandbox(server);
    await server.request({ method: 'POST', url: `/v1/sandboxes/${paused.id}/pause` });
    await server.request({ method: 'POST', url: `/v1/sandboxes/${running.id}/processes`, payload: { shell: 'sleep 30', tag: 'server' } });

    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      await page.goto(`${server.url}/`);
      await page.fill('#api-key', API_KEY);
      await page.click('#save-key');
      const row = (id: string) => page.locator(`tr[data-sandbox-id="${id}"]`);
      await row(running.id).waitFor();
      await row(paused.id).waitFor();
      assert.match(await row(running.id).innerText(), /running/);
      assert.match(await row(paused.id).innerText(), /paused/);

      await row(running.id).click();
      await page.locator('#processes td', { hasText: 'server' }).waitFor();
      await page.locator('#events td', { hasText: 'sandbox.created' }).waitFor();
      assert.equal(await page.locator('#detail-title').innerText(), running.id);

      const file = join(process.env.HUTCH_CONSOLE_SCREENSHOT_DIR ?? shots, 'console.png');
      await page.screenshot({ path: file, fullPage: true });
      const png = readFileSync(file);
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
      assert.ok(png.length > 10_000, `a non-trivial screenshot (${png.length} bytes)`);
      assert.deepEqual(errors, []);
      await server.request({ method: 'POST', url: `/v1/sandboxes/${running.id}/processes/server/signal`, payload: { signal: 'SIGKILL' } });
    } finally {
      await browser.close();
    }
  });
});
