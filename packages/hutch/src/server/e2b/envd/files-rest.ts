/**
 * envd's REST `/files`: download (`GET`, raw bytes, streamed) and upload (`POST`, multipart with one
 * `file` part per file whose filename is the target path, or a raw `application/octet-stream` body,
 * optionally gzip-encoded, for the `path` query). Paths resolve against the user's home (the
 * `username` query, else the sandbox's default user); the response of an upload is always an array
 * of `{name, path, type}`. Access: the sandbox's `X-Access-Token`, or a URL signature
 * (`downloadUrl()`/`uploadUrl()`, see credentials.ts) that has not expired.
 */
import busboy from 'busboy';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BadRequestError } from '../../../domain/errors.js';
import type { SandboxInfo } from '../../../domain/sandbox.js';
import type { E2bContext } from '../context.js';
import { signatureMatches, type FileOperation } from '../credentials.js';
import { e2bError, type E2bErrorResponse } from '../errors.js';
import { homeOf, resolveUserPath } from './users.js';

export interface FilesQuery {
  path?: string;
  username?: string;
  signature?: string;
  signature_expiration?: string;
}

interface WrittenFile {
  name: string;
  path: string;
  type: 'file';
}

/** Why a `/files` request may not proceed (401), or undefined when its token or signature is good. */
export function filesAccessProblem(ctx: E2bContext, sandboxId: string, operation: FileOperation, query: FilesQuery, token: string | undefined, nowMs: number): E2bErrorResponse | undefined {
  if (ctx.tokens.verify(sandboxId, token)) return undefined;
  if (query.signature === undefined) return e2bError(401, 'unauthorized access, please provide a valid access token or method signing if supported');
  const expiration = query.signature_expiration === undefined ? undefined : Number(query.signature_expiration);
  if (expiration !== undefined && !Number.isInteger(expiration)) return e2bError(401, 'invalid signature expiration');
  if (!signatureMatches(query.signature, query.path ?? '', operation, query.username ?? '', ctx.tokens.tokenFor(sandboxId), expiration)) return e2bError(401, 'invalid signature');
  if (expiration !== undefined && expiration * 1000 < nowMs) return e2bError(401, 'signature is already expired');
  return undefined;
}

/**
 * The live sandbox a signed, unrouted `/files` URL is for (E2B's `downloadUrl()` carries no sandbox
 * id): the one whose token makes the signature match.
 */
export function sandboxForSignature(ctx: E2bContext, operation: FileOperation, query: FilesQuery): string | undefined {
  if (query.signature === undefined) return undefined;
  const expiration = query.signature_expiration === undefined ? undefined : Number(query.signature_expiration);
  const running = ctx.server.engine.list({ state: 'running', limit: 1000 }).items;
  return running.find((s) => signatureMatches(query.signature!, query.path ?? '', operation, query.username ?? '', ctx.tokens.tokenFor(s.id), expiration))?.id;
}

async function userOf(ctx: E2bContext, info: SandboxInfo, query: FilesQuery): Promise<string> {
  return query.username || (await ctx.defaultUser(info));
}

/** GET /files: the file's bytes. */
export async function downloadFile(ctx: E2bContext, info: SandboxInfo, query: FilesQuery, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  if (!query.path) throw new BadRequestError('The path query is required.', { field: 'path' });
  const path = resolveUserPath(query.path, homeOf(await userOf(ctx, info, query)));
  const entry = await ctx.server.engine.files.stat(info.id, path);
  if (entry.type === 'dir') throw new BadRequestError(`${path} is a directory.`, { path });
  const controller = new AbortController();
  reply.raw.once('close', () => controller.abort());
  const chunks = await ctx.server.engine.files.read(info.id, path, { signal: controller.signal });
  reply.header('content-type', 'application/octet-stream');
  reply.header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(posix.basename(path))}`);
  if (request.method === 'HEAD') return reply.send();
  return reply.send(Readable.from(chunks, { objectMode: false }));
}

/** POST /files: writes every file of the body, then gives them to the user. */
export async function uploadFiles(ctx: E2bContext, info: SandboxInfo, query: FilesQuery, request: FastifyRequest): Promise<WrittenFile[]> {
  const user = await userOf(ctx, info, query);
  const home = homeOf(user);
  const written: WrittenFile[] = [];
  const write = async (target: string | undefined, data: AsyncIterable<Uint8Array> | Uint8Array) => {
    if (!target) throw new BadRequestError('Each file needs a path: the path query or the part\'s filename.', { field: 'path' });
    const path = resolveUserPath(target, home);
    const entry = await ctx.server.engine.files.write(info.id, path, data);
    written.push({ name: entry.name, path: entry.path, type: 'file' });
  };
  const contentType = request.headers['content-type'] ?? '';
  if (contentType.startsWith('multipart/form-data')) await readMultipart(request, query.path, write);
  else {
    const encoding = request.headers['content-encoding'];
    if (encoding !== undefined && encoding !== 'gzip' && encoding !== 'identity') throw new BadRequestError(`Content-Encoding ${encoding} is not supported: use gzip or none.`);
    await write(query.path, encoding === 'gzip' ? request.raw.pipe(createGunzip()) : request.raw);
  }
  await ctx.chownToUser(info.id, user, written.map((f) => f.path));
  return written;
}

/** Streams each multipart part named `file` to `write`, one after the other. */
function readMultipart(request: FastifyRequest, pathQuery: string | undefined, write: (target: string | undefined, data: AsyncIterable<Uint8Array> | Uint8Array) => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    // preservePath: E2B sends the target path (with directories) as the part's filename.
    const parser = busboy({ headers: request.headers, preservePath: true });
    let chain = Promise.resolve();
    const fail = (err: unknown) => {
      request.raw.unpipe(parser);
      request.raw.resume();
      reject(err);
    };
    parser.on('file', (name, stream, fileInfo) => {
      if (name !== 'file') return void stream.resume();
      // The parser waits for each part to be consumed, so parts are written in order.
      chain = chain.then(() => write(pathQuery ?? fileInfo.filename, stream)).catch((err: unknown) => {
        stream.resume();
        throw err;
      });
      chain.catch(fail);
    });
    parser.on('field', (name, value) => {
      // A part without a filename arrives as a field: its target is the path query.
      if (name === 'file') chain = chain.then(() => write(pathQuery, Buffer.from(value)));
    });
    parser.once('close', () => chain.then(() => resolve(), reject));
    parser.once('error', fail);
    request.raw.pipe(parser);
  });
}
