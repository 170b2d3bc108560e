import type { IncomingMessage, ServerResponse } from 'node:http';
import { CorbelError } from '@corbel/core';
import type { TRPCError } from '@trpc/server';
import type { CorbelMetrics } from './metrics.js';
import type { RequestGate } from './request-gate.js';
import { requestIdOf } from './request-id.js';

export interface MetricsEndpointOptions {
  metrics: CorbelMetrics | undefined;
  /** Where the metrics are served; undefined serves none. */
  path: string | undefined;
  /** Require authentication (401 without it). */
  protect: boolean;
  gate: RequestGate;
  /** Writes a refusal at an explicit status (the server's error response). */
  refuse(res: ServerResponse, status: number, error: TRPCError): void;
}

/**
 * The Prometheus endpoint: `GET <path>` answers the exposition text, behind
 * the server's authentication when protected.
 *
 * @example
 * const endpoint = createMetricsEndpoint({ metrics, path: '/metrics', protect: true, gate, refuse });
 * const answered = endpoint.handle(req, res, pathname);
 */
export function createMetricsEndpoint(opts: MetricsEndpointOptions) {
  const { metrics, path, protect, gate } = opts;
  async function serve(metrics: CorbelMetrics, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (protect) {
      try {
        await gate.identify(req, res);
      } catch (error) {
        opts.refuse(res, 401, CorbelError.from(error, 'UNAUTHENTICATED'));
        return;
      }
    }
    const { contentType, text } = await metrics.render();
    res
      .writeHead(200, {
        'content-type': contentType,
        'cache-control': 'no-store',
        'x-request-id': requestIdOf(req),
      })
      .end(text);
  }
  return {
    /** Serves the metrics when the request is for them; false otherwise. */
    handle(req: IncomingMessage, res: ServerResponse, pathname: string): false | Promise<void> {
      if (!metrics || !path || pathname !== path || req.method !== 'GET') return false;
      return serve(metrics, req, res);
    },
  };
}
