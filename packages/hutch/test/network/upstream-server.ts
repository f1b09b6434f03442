/**
 * Test upstream for the egress tests, run inside a test network namespace (nsenter): a DNS server
 * on the first address answering `names` (name=ip pairs), and on every address an HTTP server
 * (:80) and an HTTPS server (:443, certificate from argv) that answer `hello <host>` and print
 * each request's host, path and headers as a JSON line on stdout.
 *
 *   node upstream-server.js <ip,ip,...> <name=ip,...> <cert.pem> <key.pem>
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { buildAResponse, errorResponse, parseQuestion } from '../../src/host/egress/dns-message.js';

const [ipList, nameList, certFile, keyFile] = process.argv.slice(2);
const ips = ipList!.split(',');
const names = new Map(nameList!.split(',').map((p) => p.split('=') as [string, string]));

const handler = (scheme: string) => (req: IncomingMessage, res: ServerResponse) => {
  process.stdout.write(`${JSON.stringify({ scheme, host: req.headers.host ?? null, path: req.url, headers: req.headers, local: req.socket.localAddress })}\n`);
  res.end(`hello ${req.headers.host ?? '?'} over ${scheme}\n`);
};

let pending = 1 + ips.length * 2;
const ready = () => {
  if (--pending === 0) process.stdout.write('ready\n');
};
const dns = createSocket('udp4');
dns.on('message', (msg, rinfo) => {
  const q = parseQuestion(msg);
  const ip = q ? names.get(q.name) : undefined;
  // A known name has no AAAA: NOERROR with no records (not NXDOMAIN, which would hide the A).
  const answer = ip && q?.type !== 1 ? errorResponse(msg, 0) : buildAResponse(msg, ip ? [ip] : []);
  dns.send(answer, rinfo.port, rinfo.address);
});
dns.bind(53, ips[0], ready);
const tls = { cert: readFileSync(certFile!), key: readFileSync(keyFile!) };
for (const ip of ips) {
  createServer(handler('http')).listen(80, ip, ready);
  createHttpsServer(tls, handler('https')).listen(443, ip, ready);
}
