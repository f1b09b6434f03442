/** Unit tests of the exec agent's wire format (host/agent-protocol.ts); the agent itself is exercised by the process-tier suites. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentFrameDecoder, MAX_STDIN_FRAME, encodeRequest, encodeResize, encodeSignal, encodeStdin, planAgentRequest } from './agent-protocol.js';

function frame(type: string, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeUInt32LE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

describe('agent protocol', () => {
  it('encodes a request as NUL-terminated fields in the agent\'s order', () => {
    const req = encodeRequest({ uid: 1000, gid: 1001, cwd: '/tmp', pty: { cols: 80, rows: 24 }, shell: true, argv: ['echo hi'], env: { A: '1', B: 'x=y' } });
    assert.equal(req.toString('latin1', 0, 1), 'R');
    assert.equal(req.readUInt32LE(1), req.length - 5);
    assert.deepEqual(req.subarray(5).toString().split('\0'), ['1', '1000', '1001', '/tmp', '3', '80', '24', '1', 'echo hi', '2', 'A=1', 'B=x=y', '']);
    const plain = encodeRequest({ uid: 0, gid: 0, cwd: '/', shell: false, argv: ['true'], env: {} });
    assert.deepEqual(plain.subarray(5).toString().split('\0'), ['1', '0', '0', '/', '0', '0', '0', '1', 'true', '0', '']);
  });

  it('plans a request from an exec spec: a command with its args, or one shell string', () => {
    const user = { uid: 1000, gid: 1000 };
    assert.deepEqual(planAgentRequest({ cmd: 'ls', args: ['-l'] }, user, '/w', { A: '1' }), { uid: 1000, gid: 1000, cwd: '/w', env: { A: '1' }, shell: false, argv: ['ls', '-l'] });
    assert.deepEqual(planAgentRequest({ shell: 'echo $A', pty: { cols: 80, rows: 24 } }, user, '/w', {}), { uid: 1000, gid: 1000, cwd: '/w', env: {}, pty: { cols: 80, rows: 24 }, shell: true, argv: ['echo $A'] });
  });

  it('refuses NUL characters, which the request cannot carry', () => {
    assert.throws(() => encodeRequest({ uid: 0, gid: 0, cwd: '/', shell: false, argv: ['a\0b'], env: {} }), /NUL/);
    assert.throws(() => encodeRequest({ uid: 0, gid: 0, cwd: '/', shell: false, argv: ['a'], env: { K: 'v\0' } }), /NUL/);
  });

  it('splits stdin into frames the agent accepts, and encodes signals and sizes', () => {
    const frames = encodeStdin(new Uint8Array(MAX_STDIN_FRAME * 2 + 1));
    assert.deepEqual(frames.map((f) => f.readUInt32LE(1)), [MAX_STDIN_FRAME, MAX_STDIN_FRAME, 1]);
    assert.deepEqual(encodeStdin(new Uint8Array(0)), []);
    const kill = encodeSignal(9, true);
    assert.deepEqual([kill.toString('latin1', 0, 1), kill.readInt32LE(5), kill[9]], ['K', 9, 1]);
    const size = encodeResize(120, 40);
    assert.deepEqual([size.readUInt16LE(5), size.readUInt16LE(7)], [120, 40]);
  });

  it('decodes frames split anywhere across chunks', () => {
    const pid = Buffer.alloc(4);
    pid.writeInt32LE(42);
    const exit = Buffer.alloc(8);
    exit.writeInt32LE(1, 0);
    exit.writeInt32LE(15, 4);
    const bytes = Buffer.concat([frame('P', pid), frame('O', Buffer.from('out')), frame('E', Buffer.from('err')), frame('X', exit)]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const decoder = new AgentFrameDecoder();
      const frames = [...decoder.push(bytes.subarray(0, cut)), ...decoder.push(bytes.subarray(cut))];
      assert.deepEqual(frames, [
        { type: 'started', pid: 42 },
        { type: 'stdout', data: Buffer.from('out') },
        { type: 'stderr', data: Buffer.from('err') },
        { type: 'exit', exitCode: null, signal: 15 },
      ]);
    }
  });

  it('throws on unknown frames and on oversized lengths', () => {
    assert.throws(() => new AgentFrameDecoder().push(frame('Z', Buffer.alloc(1))), /unexpected agent frame/);
    const huge = Buffer.from([0x4f, 0xff, 0xff, 0xff, 0x7f]);
    assert.throws(() => new AgentFrameDecoder().push(huge), /agent frame of/);
  });
});
