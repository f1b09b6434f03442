import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSandboxHost, rewriteE2bUrl, targetOf } from './dispatch.js';

describe('E2B dispatch', () => {
  it('routes envd requests by E2b-Sandbox-Id with port 49983 (or no port header)', () => {
    assert.equal(rewriteE2bUrl({ url: '/process.Process/Start', headers: { 'e2b-sandbox-id': 'sbxabc', 'e2b-sandbox-port': '49983' } }), '/_e2b/envd/sbxabc/process.Process/Start');
    assert.equal(rewriteE2bUrl({ url: '/files?path=a', headers: { 'e2b-sandbox-id': 'sbxabc' } }), '/_e2b/envd/sbxabc/files?path=a');
  });

  it('routes any other port to the proxy, keeping path and query', () => {
    assert.equal(rewriteE2bUrl({ url: '/x/y?z=1', headers: { 'e2b-sandbox-id': 'sbxabc', 'e2b-sandbox-port': '8000' } }), '/_e2b/port/sbxabc/8000/x/y?z=1');
  });

  it('parses <port>-<id>.<domain> hosts and ignores plain ones', () => {
    assert.deepEqual(parseSandboxHost('8000-sbxabc.localhost:7410'), { sandboxId: 'sbxabc', port: 8000 });
    assert.deepEqual(parseSandboxHost('49983-sbx1.e2b.example.com'), { sandboxId: 'sbx1', port: 49983 });
    for (const host of ['127.0.0.1:7410', 'localhost:7410', 'hutch.example.com', '8000.example.com', '99999-sbx.localhost', undefined]) assert.equal(parseSandboxHost(host), undefined, String(host));
    assert.equal(rewriteE2bUrl({ url: '/', headers: { host: '8000-sbxabc.localhost:7410' } }), '/_e2b/port/sbxabc/8000/');
  });

  it('leaves API requests and malformed routing headers alone', () => {
    assert.equal(rewriteE2bUrl({ url: '/v2/sandboxes', headers: { host: '127.0.0.1:7410' } }), '/v2/sandboxes');
    assert.equal(targetOf({ 'e2b-sandbox-id': '../etc' }), undefined);
    assert.equal(targetOf({ 'e2b-sandbox-id': 'sbxabc', 'e2b-sandbox-port': '0' }), undefined);
    assert.equal(targetOf({ 'e2b-sandbox-id': 'sbxabc', 'e2b-sandbox-port': 'http' }), undefined);
  });
});
