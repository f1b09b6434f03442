/**
 * E2B's REST control plane over the engine (e2b SDK 2.45–2.51; see shared/research/e2b-protocol.md §2):
 * create (`/sandboxes`, `/v2/sandboxes`), connect (both paths; resumes a paused sandbox), get, kill,
 * list (`/v2/sandboxes` + `X-Next-Token`), timeout, pause, metrics, snapshots and fork.
 * Authenticated by `X-API-KEY` (E2B or Hutch form, see credentials.ts). Errors are
 * `{code: <status>, message}` (see errors.ts).
 *
 * Mapping: `templateID` → Hutch template (`base` by default) or, when it names a snapshot, a restore
 * of it; `envVars` → sandbox env; `metadata` → metadata; `timeout` (s) → deadline (default 300 s);
 * `autoPause` → `onTimeout: pause`; internet access when the backend offers it and the request
 * does not refuse it (`allow_internet_access: false`); `network.allowOut`/`denyOut` and
 * `PUT /sandboxes/{id}/network` map onto Hutch's policy (network-config.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BadRequestError, CapabilityMissingError, SnapshotNotFoundError } from '../../domain/errors.js';
import type { SandboxInfo } from '../../domain/sandbox.js';
import type { CreateSandboxRequest } from '../../engine/create-request.js';
import { hasCapability } from '../../port/capabilities.js';
import { liveSandbox, sandboxDomain, type E2bContext } from './context.js';
import { apiKeyAccepted } from './credentials.js';
import { e2bError } from './errors.js';
import { pageSandboxes, parseStates, toE2bDetail, toE2bListed, toE2bSandbox, type ListQuery } from './sandbox-views.js';
import { SnapshotNames } from './snapshot-names.js';
import { e2bNetworkPolicy, type E2bNetworkConfig } from './network-config.js';

interface CreateBody {
  templateID?: string;
  timeout?: number;
  metadata?: Record<string, string>;
  envVars?: Record<string, string>;
  autoPause?: boolean;
  allow_internet_access?: boolean;
  network?: E2bNetworkConfig;
}

type Id = { id: string };
type Body = Record<string, unknown> | undefined;

const DEFAULT_TIMEOUT_S = 300;

function seconds(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new BadRequestError(`${field} must be a whole number of seconds.`, { field });
  return value;
}

function stringMap(value: unknown, field: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) throw new BadRequestError(`${field} must be an object of strings.`, { field });
  return value as Record<string, string>;
}

export function controlPlaneRoutes(ctx: E2bContext) {
  const { engine } = ctx.server;
  const names = new SnapshotNames(engine.settings);

  const reply201 = (request: FastifyRequest, reply: FastifyReply, info: SandboxInfo, status = 201) =>
    reply.code(status).send(toE2bSandbox(info, ctx.tokens.tokenFor(info.id), sandboxDomain(request)));

  async function createSandbox(body: CreateBody): Promise<SandboxInfo> {
    const template = body.templateID ?? 'base';
    if (typeof template !== 'string' || template === '') throw new BadRequestError('templateID must be a template name.', { field: 'templateID' });
    const report = await engine.capabilities();
    const internetAvailable = hasCapability(report, 'network.internet');
    const network = e2bNetworkPolicy({ ...(body.network ?? {}), ...(body.allow_internet_access === false ? { allow_internet_access: false } : {}) }, internetAvailable);
    const env = stringMap(body.envVars, 'envVars');
    const metadata = stringMap(body.metadata, 'metadata');
    const request: CreateSandboxRequest = {
      timeoutMs: (seconds(body.timeout, 'timeout') ?? DEFAULT_TIMEOUT_S) * 1000,
      onTimeout: body.autoPause === true ? 'pause' : 'destroy',
      // Rules need `network.egress_rules`; a backend without it gets E2B's old mapping (internet or none).
      network: network.mode === 'rules' && !hasCapability(report, 'network.egress_rules') ? { mode: 'none' } : network,
      ...(env ? { env } : {}),
      ...(metadata ? { metadata } : {}),
    };
    const snapshotId = names.resolve(template, engine.snapshots.list());
    if (snapshotId) return engine.snapshots.restore(snapshotId, request);
    return engine.lifecycle.create({ ...request, template });
  }

  /** Connect: resumes a paused (or stopped) sandbox; on a running one only ever extends the deadline. */
  async function connect(id: string, timeoutS: number | undefined): Promise<{ info: SandboxInfo; resumed: boolean }> {
    const info = liveSandbox(ctx, id);
    const timeoutMs = (timeoutS ?? DEFAULT_TIMEOUT_S) * 1000;
    if (info.state === 'paused' || info.state === 'stopped') {
      await engine.lifecycle.resume(id);
      return { info: await engine.lifecycle.setTimeout(id, timeoutMs), resumed: true };
    }
    const wanted = Date.now() + timeoutMs;
    if (info.deadlineAt !== null && Date.parse(info.deadlineAt) < wanted) return { info: await engine.lifecycle.setTimeout(id, timeoutMs), resumed: false };
    return { info, resumed: false };
  }

  return async function routes(app: FastifyInstance): Promise<void> {
    // Bodies may be absent even with a JSON content type (v2 connect, pause): parse '' as no body.
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
      const text = String(body).trim();
      if (text === '') return done(null, undefined);
      try {
        done(null, JSON.parse(text));
      } catch {
        done(new BadRequestError('The body is not valid JSON.'), undefined);
      }
    });
    app.addHook('preHandler', async (request, reply) => {
      const key = request.headers['x-api-key'];
      if (!apiKeyAccepted(typeof key === 'string' ? key : undefined, ctx.apiKeyHashes)) {
        const error = e2bError(401, 'Invalid API key: send the Hutch API key (or its e2b_ form) as X-API-KEY.');
        return reply.code(error.status).send(error.body);
      }
    });
    const config = { auth: 'public' as const };

    for (const path of ['/sandboxes', '/v2/sandboxes']) {
      app.post<{ Body: CreateBody | undefined }>(path, { config }, async (request, reply) => reply201(request, reply, await createSandbox(request.body ?? {})));
      app.post<{ Params: Id; Body: Body }>(`${path}/:id/connect`, { config }, async (request, reply) => {
        const { info, resumed } = await connect(request.params.id, seconds(request.body?.timeout, 'timeout'));
        return reply201(request, reply, info, resumed ? 201 : 200);
      });
    }

    app.put<{ Params: Id; Body: Body }>('/sandboxes/:id/network', { config }, async (request, reply) => {
      const info = liveSandbox(ctx, request.params.id);
      const report = await engine.capabilities(info.backend);
      await engine.network.update(info.id, e2bNetworkPolicy((request.body ?? {}) as E2bNetworkConfig, hasCapability(report, 'network.internet')));
      return reply.code(204).send();
    });

    app.get<{ Params: Id }>('/sandboxes/:id', { config }, async (request) => {
      const info = liveSandbox(ctx, request.params.id);
      return toE2bDetail(info, ctx.tokens.tokenFor(info.id), sandboxDomain(request));
    });

    app.delete<{ Params: Id }>('/sandboxes/:id', { config }, async (request, reply) => {
      liveSandbox(ctx, request.params.id);
      await engine.lifecycle.destroy(request.params.id, 'killed through the E2B API');
      return reply.code(204).send();
    });

    app.get<{ Querystring: ListQuery }>('/v2/sandboxes', { config }, async (request, reply) => {
      const states = parseStates(request.query.state);
      const all: SandboxInfo[] = [];
      for (let cursor: string | null | undefined; ; ) {
        const page = engine.list({ state: states, limit: 1000, ...(cursor ? { cursor } : {}) });
        all.push(...page.items);
        if (!(cursor = page.nextCursor)) break;
      }
      const { items, nextToken } = pageSandboxes(all, request.query);
      if (nextToken) reply.header('x-next-token', nextToken);
      return items.map(toE2bListed);
    });

    app.post<{ Params: Id; Body: Body }>('/sandboxes/:id/timeout', { config }, async (request, reply) => {
      liveSandbox(ctx, request.params.id);
      const timeout = seconds(request.body?.timeout, 'timeout');
      if (timeout === undefined) throw new BadRequestError('timeout (seconds) is required.', { field: 'timeout' });
      await engine.lifecycle.setTimeout(request.params.id, timeout * 1000);
      return reply.code(204).send();
    });

    // Pausing a paused sandbox is an invalid transition: 409, which the SDK reads as "already paused".
    app.post<{ Params: Id }>('/sandboxes/:id/pause', { config }, async (request, reply) => {
      liveSandbox(ctx, request.params.id);
      await engine.lifecycle.pause(request.params.id);
      return reply.code(204).send();
    });

    app.get<{ Params: Id }>('/sandboxes/:id/metrics', { config }, async (request) => {
      const info = liveSandbox(ctx, request.params.id);
      if (info.state !== 'running') return [];
      try {
        const stats = await engine.stats(info.id);
        const listed = toE2bListed(info);
        const uptimeMs = Math.max(1, Date.parse(stats.at) - Date.parse(info.createdAt));
        return [{
          timestamp: stats.at,
          timestampUnix: Math.floor(Date.parse(stats.at) / 1000),
          cpuCount: listed.cpuCount,
          cpuUsedPct: Math.min(100, (stats.cpuUsageMs / uptimeMs / listed.cpuCount) * 100),
          memUsed: stats.memoryBytes,
          memTotal: stats.memoryLimitBytes ?? listed.memoryMB * 1024 * 1024,
          memCache: 0,
          diskUsed: stats.diskBytes ?? 0,
          diskTotal: listed.diskSizeMB * 1024 * 1024,
        }];
      } catch (err) {
        // A backend without stats has no metrics to show: an empty series, as E2B gives early on.
        if (err instanceof CapabilityMissingError) return [];
        throw err;
      }
    });

    app.post<{ Params: Id; Body: Body }>('/sandboxes/:id/snapshots', { config }, async (request, reply) => {
      liveSandbox(ctx, request.params.id);
      const name = request.body?.name;
      if (name !== undefined && (typeof name !== 'string' || name === '')) throw new BadRequestError('name must be a non-empty string.', { field: 'name' });
      const snapshot = await engine.snapshots.create(request.params.id);
      if (name) names.set(snapshot.id, [name]);
      return reply.code(201).send({ snapshotID: snapshot.id, names: names.get(snapshot.id) });
    });

    app.get<{ Querystring: { sandboxID?: string; name?: string; limit?: string } }>('/snapshots', { config }, async (request) => {
      const { sandboxID, name } = request.query;
      const limit = request.query.limit === undefined ? 100 : Number(request.query.limit);
      return engine.snapshots
        .list(sandboxID ? { sandboxId: sandboxID } : {})
        .map((s) => ({ snapshotID: s.id, names: names.get(s.id) }))
        .filter((s) => name === undefined || s.names.includes(name))
        .slice(0, Number.isInteger(limit) && limit > 0 ? limit : 100);
    });

    app.delete<{ Params: Id }>('/templates/:id', { config }, async (request, reply) => {
      const snapshotId = names.resolve(request.params.id, engine.snapshots.list());
      if (!snapshotId) throw new SnapshotNotFoundError(request.params.id);
      await engine.snapshots.delete(snapshotId);
      names.delete(snapshotId);
      return reply.code(204).send();
    });

    // Fork: snapshot the sandbox, restore it `count` times, drop the snapshot (restores copy it).
    app.post<{ Params: Id; Body: Body }>('/sandboxes/:id/fork', { config }, async (request, reply) => {
      const source = liveSandbox(ctx, request.params.id);
      const count = request.body?.count ?? 1;
      if (typeof count !== 'number') throw new BadRequestError('count must be a number.', { field: 'count' });
      const timeoutMs = (seconds(request.body?.timeout, 'timeout') ?? DEFAULT_TIMEOUT_S) * 1000;
      const snapshot = await engine.snapshots.create(source.id);
      try {
        const children = await engine.snapshots.fork(snapshot.id, count, { timeoutMs, onTimeout: source.onTimeout });
        return reply.code(201).send(children.map((info) => ({ sandbox: toE2bSandbox(info, ctx.tokens.tokenFor(info.id), sandboxDomain(request)) })));
      } finally {
        await engine.snapshots.delete(snapshot.id);
      }
    });
  };
}
