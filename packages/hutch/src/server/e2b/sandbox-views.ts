/**
 * Hutch sandboxes as E2B's control plane shows them (`Sandbox`, `SandboxDetail`, `ListedSandbox`),
 * and the list query of `GET /v2/sandboxes` (filters, order, pages). Pure: no engine calls.
 */
import { availableParallelism, totalmem } from 'node:os';
import { BadRequestError } from '../../domain/errors.js';
import type { SandboxInfo } from '../../domain/sandbox.js';

/** The envd version reported to SDKs: the newest feature gate of e2b 2.45–2.51 is 0.6.4. */
export const ENVD_VERSION = '0.6.4';
/** E2B's `clientID` is deprecated; any string is accepted. */
const CLIENT_ID = 'hutch';
/** `endAt` of a sandbox without a deadline. */
const NO_DEADLINE = '9999-12-31T23:59:59.000Z';

export interface E2bSandbox {
  sandboxID: string;
  templateID: string;
  clientID: string;
  envdVersion: string;
  envdAccessToken: string;
  trafficAccessToken: null;
  domain: string | null;
}

export interface E2bListedSandbox {
  sandboxID: string;
  templateID: string;
  clientID: string;
  envdVersion: string;
  startedAt: string;
  endAt: string;
  state: 'running' | 'paused';
  cpuCount: number;
  memoryMB: number;
  diskSizeMB: number;
  metadata: Record<string, string>;
}

export interface E2bSandboxDetail extends E2bListedSandbox {
  envdAccessToken: string;
  domain: string | null;
  allowInternetAccess: boolean;
  lifecycle: { onTimeout: 'kill' | 'pause'; autoResume: boolean };
}

export function toE2bSandbox(info: SandboxInfo, envdAccessToken: string, domain: string | null): E2bSandbox {
  return { sandboxID: info.id, templateID: info.template ?? 'base', clientID: CLIENT_ID, envdVersion: ENVD_VERSION, envdAccessToken, trafficAccessToken: null, domain };
}

export function toE2bListed(info: SandboxInfo): E2bListedSandbox {
  return {
    sandboxID: info.id,
    templateID: info.template ?? 'base',
    clientID: CLIENT_ID,
    envdVersion: ENVD_VERSION,
    startedAt: info.createdAt,
    endAt: info.deadlineAt ?? NO_DEADLINE,
    state: info.state === 'paused' ? 'paused' : 'running',
    cpuCount: info.resources.vcpus !== undefined ? Math.max(1, Math.ceil(info.resources.vcpus)) : availableParallelism(),
    memoryMB: info.resources.memoryMib ?? Math.floor(totalmem() / 1024 / 1024),
    diskSizeMB: info.resources.diskMib ?? 0,
    metadata: info.metadata,
  };
}

export function toE2bDetail(info: SandboxInfo, envdAccessToken: string, domain: string | null): E2bSandboxDetail {
  return {
    ...toE2bListed(info),
    envdAccessToken,
    domain,
    allowInternetAccess: info.network.mode === 'internet',
    lifecycle: { onTimeout: info.onTimeout === 'pause' ? 'pause' : 'kill', autoResume: false },
  };
}

/** Go's `QueryUnescape`: `+` is a space, `%XX` a byte. */
function queryUnescape(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw new BadRequestError('The metadata filter is not valid URL encoding.', { field: 'metadata' });
  }
}

/**
 * The `metadata` filter as the SDK encodes it (`encodeURIComponent` per key and value, joined as a
 * query string, then encoded again as one query value): unescape the whole value, split on `&` and
 * `=`, unescape each part (infra's `utils.parseFilters`).
 */
export function parseMetadataFilter(value: string | undefined): Record<string, string> {
  const filter: Record<string, string> = {};
  if (!value) return filter;
  for (const pair of queryUnescape(value).split('&')) {
    if (!pair) continue;
    const at = pair.indexOf('=');
    const key = queryUnescape(at < 0 ? pair : pair.slice(0, at));
    filter[key] = at < 0 ? '' : queryUnescape(pair.slice(at + 1));
  }
  return filter;
}

export interface ListQuery {
  metadata?: string;
  state?: string | string[];
  template?: string;
  startedAfter?: string;
  order?: string;
  limit?: string | number;
  nextToken?: string;
}

interface Cursor {
  startedAt: string;
  id: string;
}

function encodeToken(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeToken(token: string): Cursor {
  try {
    const cursor = JSON.parse(Buffer.from(token, 'base64url').toString()) as Partial<Cursor>;
    if (typeof cursor.startedAt === 'string' && typeof cursor.id === 'string') return { startedAt: cursor.startedAt, id: cursor.id };
  } catch {
    // Falls through to the error below.
  }
  throw new BadRequestError('nextToken is not one this server returned.', { field: 'nextToken' });
}

/** The E2B states asked for (`running,paused`, comma-separated or repeated); both by default. */
export function parseStates(state: string | string[] | undefined): Array<'running' | 'paused'> {
  const items = (Array.isArray(state) ? state : state === undefined ? [] : [state]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) return ['running', 'paused'];
  for (const s of items) if (s !== 'running' && s !== 'paused') throw new BadRequestError(`Unknown state "${s}": use running or paused.`, { field: 'state' });
  return [...new Set(items)] as Array<'running' | 'paused'>;
}

/**
 * One page of `sandboxes` (already restricted to the asked states) for an E2B list query: metadata,
 * template and start filters, `order` by start time (default desc, ties by id), `limit` (default
 * 100, at most 1000) and `nextToken`. `nextToken` is set only when more items exist.
 */
export function pageSandboxes(sandboxes: SandboxInfo[], query: ListQuery): { items: SandboxInfo[]; nextToken: string | undefined } {
  const metadata = parseMetadataFilter(query.metadata);
  const order = query.order ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw new BadRequestError('order must be asc or desc.', { field: 'order' });
  const limit = query.limit === undefined ? 100 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new BadRequestError('limit must be an integer from 1 to 1000.', { field: 'limit' });
  const startedAfter = query.startedAfter ? Date.parse(query.startedAfter) : undefined;
  if (startedAfter !== undefined && Number.isNaN(startedAfter)) throw new BadRequestError('startedAfter must be an RFC 3339 time.', { field: 'startedAfter' });
  const sign = order === 'asc' ? 1 : -1;
  const compare = (a: Cursor, b: Cursor) => sign * (a.startedAt === b.startedAt ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : a.startedAt < b.startedAt ? -1 : 1);
  const after = query.nextToken ? decodeToken(query.nextToken) : undefined;
  const matching = sandboxes
    .filter((s) => Object.entries(metadata).every(([k, v]) => s.metadata[k] === v))
    .filter((s) => query.template === undefined || s.template === query.template)
    .filter((s) => startedAfter === undefined || Date.parse(s.createdAt) >= startedAfter)
    .map((s) => ({ s, cursor: { startedAt: s.createdAt, id: s.id } }))
    .filter(({ cursor }) => !after || compare(cursor, after) > 0)
    .sort((a, b) => compare(a.cursor, b.cursor));
  const page = matching.slice(0, limit);
  const last = page[page.length - 1];
  return { items: page.map(({ s }) => s), nextToken: matching.length > limit && last ? encodeToken(last.cursor) : undefined };
}
