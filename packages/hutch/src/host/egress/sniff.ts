/**
 * Names a client announces in its first bytes: the TLS SNI of a ClientHello, or the Host header of
 * an HTTP/1 request. `incomplete` means more bytes may still tell.
 */

export type Sniffed = { kind: 'tls'; name: string | null } | { kind: 'http'; name: string | null } | { kind: 'other' } | { kind: 'incomplete' };

const HTTP_METHOD = /^(GET|POST|PUT|DELETE|HEAD|OPTIONS|PATCH|CONNECT|TRACE) /;

export function sniff(buf: Buffer): Sniffed {
  if (buf.length === 0) return { kind: 'incomplete' };
  if (buf[0] === 0x16) return sniffTls(buf);
  const head = buf.toString('latin1', 0, Math.min(buf.length, 16384));
  if (!HTTP_METHOD.test(head)) return /^[A-Z]{1,7}$/.test(head) ? { kind: 'incomplete' } : { kind: 'other' };
  const end = head.indexOf('\r\n\r\n');
  if (end < 0) return buf.length >= 16384 ? { kind: 'http', name: null } : { kind: 'incomplete' };
  const host = /\r\nhost:[ \t]*([^\r\n]*)/i.exec(head.slice(0, end + 2))?.[1]?.trim();
  return { kind: 'http', name: host ? stripPort(host).toLowerCase() : null };
}

function stripPort(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const i = host.lastIndexOf(':');
  return i >= 0 ? host.slice(0, i) : host;
}

function sniffTls(buf: Buffer): Sniffed {
  if (buf.length < 5) return { kind: 'incomplete' };
  const recordLen = buf.readUInt16BE(3);
  if (buf.length < 5 + recordLen) return recordLen > 16384 ? { kind: 'tls', name: null } : { kind: 'incomplete' };
  try {
    let p = 5;
    if (buf[p] !== 0x01) return { kind: 'tls', name: null }; // not a ClientHello
    p += 4 + 2 + 32; // handshake header, version, random
    p += 1 + buf[p]!; // session id
    p += 2 + buf.readUInt16BE(p); // cipher suites
    p += 1 + buf[p]!; // compression methods
    const extEnd = p + 2 + buf.readUInt16BE(p);
    p += 2;
    while (p + 4 <= extEnd) {
      const type = buf.readUInt16BE(p);
      const len = buf.readUInt16BE(p + 2);
      if (type === 0) {
        let q = p + 4 + 2;
        const listEnd = p + 4 + len;
        while (q + 3 <= listEnd) {
          const nameType = buf[q]!;
          const nameLen = buf.readUInt16BE(q + 1);
          if (nameType === 0) return { kind: 'tls', name: buf.toString('latin1', q + 3, q + 3 + nameLen).toLowerCase() };
          q += 3 + nameLen;
        }
      }
      p += 4 + len;
    }
    return { kind: 'tls', name: null };
  } catch {
    return { kind: 'tls', name: null };
  }
}
