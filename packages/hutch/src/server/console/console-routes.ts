/**
 * Serves the web console: `GET /` (the page) and `GET /console.js` (its script). Both are public:
 * the page holds no data; every API call it makes carries the key the user pastes.
 */
import type { FastifyInstance } from 'fastify';
import { CONSOLE_HTML } from './page.js';
import { CONSOLE_JS } from './script.js';

const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

export async function consoleRoutes(app: FastifyInstance): Promise<void> {
  app.get('/', { config: { auth: 'public' }, schema: { hide: true } }, async (_request, reply) =>
    reply.header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').type('text/html; charset=utf-8').send(CONSOLE_HTML),
  );
  app.get('/console.js', { config: { auth: 'public' }, schema: { hide: true } }, async (_request, reply) =>
    reply.header('x-content-type-options', 'nosniff').type('text/javascript; charset=utf-8').send(CONSOLE_JS),
  );
}
