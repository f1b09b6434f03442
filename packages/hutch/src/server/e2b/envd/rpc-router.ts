/**
 * The envd Connect services behind Fastify: one universal handler per RPC path
 * (`/process.Process/Start`...), called from the envd route with the sandbox and user of the request
 * as context values. Connect JSON and binary, unary and server streaming, envelopes, end-stream
 * messages, error codes and `Connect-Timeout-Ms` are @connectrpc/connect's. Responses are never
 * compressed (E2B clients reject compressed envelopes).
 */
import { createConnectRouter, createContextKey, createContextValues, type HandlerContext } from '@connectrpc/connect';
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from '@connectrpc/connect-node';
import type { UniversalHandler } from '@connectrpc/connect/protocol';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Filesystem } from './gen/filesystem_pb.js';
import { Process } from './gen/process_pb.js';
import type { E2bContext } from '../context.js';
import { filesystemService } from './filesystem-service.js';
import { processService } from './process-service.js';

/** Who an RPC is for: the sandbox (from `E2b-Sandbox-Id`) and the user (Basic auth), if given. */
export interface EnvdCall {
  sandboxId: string;
  user: string | undefined;
  /** Keepalive interval of streams (ms): the client's `Keepalive-Ping-Interval`, capped by the server's. */
  keepaliveMs: number;
}

export const ENVD_CALL = createContextKey<EnvdCall>({ sandboxId: '', user: undefined, keepaliveMs: 15_000 });

/** The call's sandbox and user. */
export function envdCall(context: HandlerContext): EnvdCall {
  return context.values.get(ENVD_CALL);
}

/** RPC handlers by request path. */
export function envdHandlers(ctx: E2bContext, shutdownSignal: AbortSignal): Map<string, UniversalHandler> {
  const router = createConnectRouter({ acceptCompression: [], shutdownSignal, connect: true, grpc: false, grpcWeb: false });
  router.service(Process, processService(ctx));
  router.service(Filesystem, filesystemService(ctx));
  return new Map(router.handlers.map((h) => [h.requestPath, h]));
}

/** Serves one RPC on a hijacked Node request/response pair. */
export async function serveRpc(handler: UniversalHandler, req: IncomingMessage, res: ServerResponse, call: EnvdCall): Promise<void> {
  const request = universalRequestFromNodeRequest(req, res, undefined, createContextValues().set(ENVD_CALL, call));
  await universalResponseToNodeResponse(await handler(request), res);
}
