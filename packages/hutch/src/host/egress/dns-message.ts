/**
 * The little of the DNS wire format (RFC 1035) the egress resolver needs: the question of a query,
 * an NXDOMAIN answer to it, and the A records of a response (names may be compressed).
 */

export interface DnsQuestion {
  id: number;
  name: string;
  type: number;
}

export const DNS_TYPE_A = 1;

function readName(buf: Buffer, start: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = start;
  let next = -1;
  for (let hops = 0; hops < 64; hops++) {
    if (pos >= buf.length) throw new RangeError('truncated name');
    const len = buf[pos]!;
    if (len === 0) {
      if (next < 0) next = pos + 1;
      return { name: labels.join('.').toLowerCase(), next };
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new RangeError('truncated pointer');
      if (next < 0) next = pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1]!;
      continue;
    }
    if (pos + 1 + len > buf.length) throw new RangeError('truncated label');
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  throw new RangeError('name loop');
}

/** The first question of a query, or undefined when the packet is not a parsable query. */
export function parseQuestion(msg: Buffer): DnsQuestion | undefined {
  try {
    if (msg.length < 12 || msg.readUInt16BE(4) < 1) return undefined;
    const { name, next } = readName(msg, 12);
    if (next + 4 > msg.length) return undefined;
    return { id: msg.readUInt16BE(0), name, type: msg.readUInt16BE(next) };
  } catch {
    return undefined;
  }
}

/** An answer to `query` with `rcode` (3 = NXDOMAIN, 2 = SERVFAIL) and no records. */
export function errorResponse(query: Buffer, rcode: number): Buffer {
  let end = 12;
  try {
    end = readName(query, 12).next + 4;
  } catch {
    end = 12;
  }
  const out = Buffer.from(query.subarray(0, Math.min(end, query.length)));
  const rd = out.length > 2 ? out[2]! & 0x01 : 0;
  out[2] = 0x80 | rd; // QR, opcode 0, RD copied
  out[3] = 0x80 | (rcode & 0x0f); // RA
  out.writeUInt16BE(end > 12 ? 1 : 0, 4);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(0, 10);
  return out;
}

export interface DnsAddress {
  ip: string;
  ttlS: number;
}

/** The A records in the answer section of a response. */
export function answerAddresses(msg: Buffer): DnsAddress[] {
  const out: DnsAddress[] = [];
  try {
    const qd = msg.readUInt16BE(4);
    const an = msg.readUInt16BE(6);
    let pos = 12;
    for (let i = 0; i < qd; i++) pos = readName(msg, pos).next + 4;
    for (let i = 0; i < an; i++) {
      pos = readName(msg, pos).next;
      const type = msg.readUInt16BE(pos);
      const ttl = msg.readUInt32BE(pos + 4);
      const len = msg.readUInt16BE(pos + 8);
      const data = pos + 10;
      if (type === DNS_TYPE_A && len === 4) out.push({ ip: `${msg[data]}.${msg[data + 1]}.${msg[data + 2]}.${msg[data + 3]}`, ttlS: ttl });
      pos = data + len;
    }
  } catch {
    return out;
  }
  return out;
}

/** A query for `name` (used by tests and by nothing else). */
export function buildQuery(id: number, name: string, type = DNS_TYPE_A): Buffer {
  const labels = name.split('.').filter(Boolean);
  const parts = [Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0])];
  for (const l of labels) parts.push(Buffer.from([l.length]), Buffer.from(l, 'latin1'));
  parts.push(Buffer.from([0, type >> 8, type & 0xff, 0, 1]));
  return Buffer.concat(parts);
}

/** A response to `query` with A records for its question (used by test DNS servers). */
export function buildAResponse(query: Buffer, ips: string[], ttlS = 60): Buffer {
  const q = parseQuestion(query);
  if (!q) return errorResponse(query, 1);
  if (ips.length === 0) return errorResponse(query, 3);
  const head = errorResponse(query, 0);
  head.writeUInt16BE(ips.length, 6);
  const answers = ips.map((ip) => {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0);
    rr.writeUInt16BE(DNS_TYPE_A, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(ttlS, 6);
    rr.writeUInt16BE(4, 10);
    ip.split('.').forEach((b, i) => (rr[12 + i] = Number(b)));
    return rr;
  });
  return Buffer.concat([head, ...answers]);
}
