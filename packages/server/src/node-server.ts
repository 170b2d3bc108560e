import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { CorbelError } from '@corbel/core';
import { TRPCError } from '@trpc/server';
import type { Limits } from './limits.js';
import type { CorbelMetrics } from './metrics.js';
import type { RequestGate } from './request-gate.js';
import { errorBody } from './serve/error-response.js';
import type { RouterBridge } from './serve/trpc-bridge.js';
import type { CorbelServerOptions } from './server-options.js';

export interface NodeServerOptions {
  limits: Limits;
  tls: CorbelServerOptions<any>['tls'];
  gate: RequestGate;
  metrics: CorbelMetrics | undefined;
  bridge: RouterBridge;
  onRequest(req: IncomingMessage, res: ServerResponse): void;
}

/**
 * The node:http(s) server and its sockets: request-head limits and timeouts,
 * the connection cap, open connections counted for the metrics, and
 * malformed or oversized heads answered on the raw socket.
 *
 * @example
 * const { httpServer } = createNodeServer({ limits, tls, gate, metrics, bridge, onRequest });
 */
export function createNodeServer(opts: NodeServerOptions): { httpServer: Server } {
  const { limits, gate, metrics, bridge, onRequest } = opts;
  const serverOptions = {
    maxHeaderSize: limits.maxHeaderBytes,
    // Slow clients cannot hold a socket while sending their request; the
    // check runs often enough for the timeouts to mean what they say.
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(250, Math.min(limits.headersTimeoutMs, 30_000) / 4),
  };
  const httpServer: Server = opts.tls
    ? (createHttpsServer({ ...serverOptions, ...opts.tls }, onRequest) as unknown as Server)
    : createServer(serverOptions, onRequest);
  // One more than the limit, so an over-long header list is seen and refused
  // instead of silently truncated.
  httpServer.maxHeadersCount = limits.maxHeaderCount + 1;
  httpServer.maxConnections = limits.maxConnections;
  httpServer.on('drop', (data?: { remoteAddress?: string }) =>
    gate.limitHit(undefined, 'connections', data?.remoteAddress),
  );
  // Open connections are counted by Node itself, read when metrics are
  // scraped, and closed by a drain with closeAllConnections: a 'close'
  // listener of our own on every socket made Node grow each socket's listener
  // array (~180 bytes per open stream).
  if (metrics) httpServer.once('close', metrics.countConnections(httpServer));
  httpServer.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // Malformed requests, oversized heads and slow heads: answer and drop.
    const status =
      err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    // No request was parsed: the socket's peer is all there is to name.
    if (status === 431) gate.limitHit(undefined, 'header', socket.remoteAddress);
    else if (status === 408) gate.limitHit(undefined, 'timeout', socket.remoteAddress);
    if (!socket.writable) return socket.destroy();
    const message = `${status === 431 ? 'request head too large' : status === 408 ? 'request head too slow' : 'malformed request'} (${err.code ?? 'bad request'})`;
    const { body } = errorBody(
      bridge,
      status === 408 ? new TRPCError({ code: 'TIMEOUT', message }) : new CorbelError('BAD_REQUEST', message),
      { status },
    );
    socket.end(
      `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  return { httpServer };
}
