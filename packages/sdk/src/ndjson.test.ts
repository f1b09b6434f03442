/** Unit tests of the NDJSON reader: framing, split chunks, bad lines, cancellation. */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ProtocolError } from './errors.js';
import { parseNdjson } from './ndjson.js';

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('parseNdjson', () => {
  it('yields one value per line, in order', async () => {
    assert.deepEqual(await collect(parseNdjson(streamOf(['{"a":1}\n{"a":2}\n']))), [{ a: 1 }, { a: 2 }]);
  });

  it('joins lines split across chunks, including inside a multi-byte character', async () => {
    const bytes = new TextEncoder().encode('{"s":"é"}\n{"s":"x"}\n');
    const split = [bytes.slice(0, 7), bytes.slice(7, 12), bytes.slice(12)];
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const part of split) controller.enqueue(part);
        controller.close();
      },
    });
    assert.deepEqual(await collect(parseNdjson(body)), [{ s: 'é' }, { s: 'x' }]);
  });

  it('ignores blank lines and CRLF, and parses a last line without newline', async () => {
    assert.deepEqual(await collect(parseNdjson(streamOf(['\n{"a":1}\r\n\n', '{"a":2}']))), [{ a: 1 }, { a: 2 }]);
  });

  it('throws ProtocolError on a line that is not JSON, after the good ones', async () => {
    const seen: unknown[] = [];
    await assert.rejects(
      (async () => {
        for await (const v of parseNdjson(streamOf(['{"a":1}\nnot json\n{"a":3}\n']))) seen.push(v);
      })(),
      (err: unknown) => err instanceof ProtocolError && err.code === 'bad_response' && /line 2/.test(err.message),
    );
    assert.deepEqual(seen, [{ a: 1 }]);
  });

  it('rejects with the signal reason when already aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    controller.abort(reason);
    await assert.rejects(collect(parseNdjson(streamOf(['{"a":1}\n']), { signal: controller.signal })), (err) => err === reason);
  });

  it('cancels the body when the consumer breaks', async () => {
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new TextEncoder().encode('{"a":1}\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const value of parseNdjson(body)) {
      assert.deepEqual(value, { a: 1 });
      break;
    }
    assert.equal(cancelled, true);
  });
});

describe('parseNdjson over HTTP', () => {
  let server: Server;
  let url: string;
  let closed: Promise<void>;

  before(async () => {
    let markClosed!: () => void;
    closed = new Promise((resolve) => (markClosed = resolve));
    server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"n":1}\n');
      if (req.url === '/endless') {
        // Never ends on its own: the client must close the connection.
        req.socket.on('close', markClosed);
        res.write('{"n":2}\n');
        return;
      }
      res.end('{"n":2}\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('reads a fetch response body to the end', async () => {
    const response = await fetch(`${url}/finite`);
    assert.deepEqual(await collect(parseNdjson(response.body!)), [{ n: 1 }, { n: 2 }]);
  });

  it('closes the connection when the loop breaks', async () => {
    const response = await fetch(`${url}/endless`);
    for await (const value of parseNdjson<{ n: number }>(response.body!)) if (value.n === 2) break;
    await closed;
  });

  it('stops on abort with the signal reason', async () => {
    const controller = new AbortController();
    const response = await fetch(`${url}/endless`, { signal: controller.signal });
    const reason = new Error('enough');
    await assert.rejects(
      (async () => {
        for await (const value of parseNdjson<{ n: number }>(response.body!, { signal: controller.signal })) if (value.n === 2) controller.abort(reason);
      })(),
      (err) => err === reason,
    );
  });
});
