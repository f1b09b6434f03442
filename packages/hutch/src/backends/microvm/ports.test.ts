/** The host end of microVM port forwarding against a scripted agent channel (no VM). */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { AgentRequestError, type AgentChannel } from './agent-channel.js';
import { FILE_CHUNK_BYTES } from './agent-protocol.js';
import { connectGuestPort, type PortTarget } from './ports.js';

interface Sent {
  op: string;
  args: Record<string, unknown>;
}

/** An agent channel that records requests and answers them with `answer` (default: ok). */
function scriptedAgent(answer: (op: string, args: Record<string, unknown>) => Promise<Record<string, unknown>> = async () => ({})) {
  const sent: Sent[] = [];
  const agent: AgentChannel = {
    closed: false,
    request<T extends Record<string, unknown>>(op: string, args: Record<string, unknown> = {}): Promise<T> {
      sent.push({ op, args });
      return answer(op, args) as Promise<T>;
    },
    close() {},
  };
  return { agent, sent };
}

function target(): PortTarget {
  return { id: 'sbx_ports', connections: new Map(), nextConnectionId: 1 };
}

describe('microvm port forwarding (host end)', () => {
  it('carries bytes both ways, binary-safe and in bounded frames, and ends when the service closes', async () => {
    const { agent, sent } = scriptedAgent();
    const vm = target();
    const stream = await connectGuestPort(vm, agent, 8080);
    assert.deepEqual(sent[0], { op: 'connect', args: { c: 1, port: 8080 } });
    const connection = vm.connections.get(1);
    assert.ok(connection);

    const big = Buffer.alloc(FILE_CHUNK_BYTES + 3, 0xff);
    big[0] = 0;
    await new Promise<void>((resolve, reject) => stream.write(big, (err) => (err ? reject(err) : resolve())));
    const writes = sent.filter((s) => s.op === 'conn_write');
    assert.equal(writes.length, 2);
    assert.deepEqual(Buffer.concat(writes.map((w) => Buffer.from(w.args.d as string, 'base64'))), big);

    connection.onData(Buffer.from([0, 1, 255]));
    connection.onData(Buffer.from('\r\n'));
    connection.onEnd();
    const parts: Buffer[] = [];
    for await (const chunk of stream) parts.push(chunk as Buffer);
    assert.deepEqual(Buffer.concat(parts), Buffer.from([0, 1, 255, 13, 10]));
    if (!stream.destroyed) await once(stream, 'close');
    assert.equal(vm.connections.size, 0);
    assert.ok(!sent.some((s) => s.op === 'conn_close'), 'the guest already dropped it');
  });

  it('closes the guest connection when the stream is destroyed, and forgets it', async () => {
    const { agent, sent } = scriptedAgent();
    const vm = target();
    const stream = await connectGuestPort(vm, agent, 80);
    stream.destroy();
    await once(stream, 'close');
    assert.deepEqual(sent.at(-1), { op: 'conn_close', args: { c: 1 } });
    assert.equal(vm.connections.size, 0);
  });

  it('maps a refused connection to not_found and other agent errors to backend_failure', async () => {
    for (const [errno, code] of [['ECONNREFUSED', 'not_found'], ['EADDRNOTAVAIL', 'not_found'], ['EACCES', 'backend_failure'], ['EINVAL', 'backend_failure']] as const) {
      const { agent, sent } = scriptedAgent(async (op) => {
        if (op === 'connect') throw new AgentRequestError(errno, 'no');
        return {};
      });
      const vm = target();
      await assert.rejects(connectGuestPort(vm, agent, 5), { code }, errno);
      assert.equal(vm.connections.size, 0);
      assert.ok(!sent.some((s) => s.op === 'conn_close'), errno);
    }
  });

  it('rejects with the abort reason and cancels a pending connect in the guest', async () => {
    let pending: ((reply: Record<string, unknown>) => void) | undefined;
    const { agent, sent } = scriptedAgent((op) => (op === 'connect' ? new Promise((resolve) => (pending = resolve)) : Promise.resolve({})));
    const vm = target();
    const controller = new AbortController();
    const connecting = connectGuestPort(vm, agent, 5, controller.signal);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await assert.rejects(connecting, (err) => err === reason);
    assert.deepEqual(sent.at(-1), { op: 'conn_close', args: { c: 1 } });
    assert.equal(vm.connections.size, 0);
    pending?.({});
  });

  it('asks the guest to pause reading while the reader here is behind, and to resume when it reads', async () => {
    const { agent, sent } = scriptedAgent();
    const vm = target();
    const stream = await connectGuestPort(vm, agent, 80);
    const connection = vm.connections.get(1)!;
    connection.onData(Buffer.alloc(stream.readableHighWaterMark + 1));
    assert.ok(sent.some((s) => s.op === 'conn_pause'));
    stream.read();
    assert.ok(sent.some((s) => s.op === 'conn_resume'));
    stream.destroy();
  });
});
