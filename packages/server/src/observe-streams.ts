import { CorbelError } from '@corbel/core';
import type { CorbelLogger } from './logger.js';
import type { CorbelMetrics } from './metrics.js';
import type { RequestGate } from './request-gate.js';
import { requestIdOf } from './request-id.js';
import type { StreamEndReason, StreamHooks } from './serve/event-stream.js';

/** Stream hooks that count, log, then call the app's own hooks. */
export function observedStreamHooks(
  gate: RequestGate,
  logger: CorbelLogger,
  metrics: CorbelMetrics | undefined,
  user: StreamHooks = {},
): StreamHooks {
  // The stream itself counts its events and knows when it opened (info.events, info.openedAt).
  return {
    onOpen(info) {
      metrics?.streams.inc({ procedure: info.path });
      logger.info(
        {
          reqId: requestIdOf(info.req),
          remote: gate.remoteOf(info.req),
          identity: gate.admissionOf(info.req)?.identity?.id,
          path: info.path,
          resume: info.req.headers['last-event-id'] !== undefined || undefined,
        },
        'stream open',
      );
      user.onOpen?.(info);
    },
    onFrames(info, events) {
      metrics?.framesWritten(info.path, events);
      user.onFrames?.(info, events);
    },
    onClose(info, reason, error) {
      const why = closeReason(reason, error);
      if (metrics) {
        metrics.streams.dec({ procedure: info.path });
        metrics.streamCloses.inc({ procedure: info.path, reason: why });
      }
      logger.info(
        {
          reqId: requestIdOf(info.req),
          remote: gate.remoteOf(info.req),
          identity: gate.admissionOf(info.req)?.identity?.id,
          path: info.path,
          reason: why,
          events: info.events,
          durationMs: info.openedAt === undefined ? undefined : Date.now() - info.openedAt,
          code: error?.code,
        },
        'stream close',
      );
      user.onClose?.(info, reason, error);
    },
  };
}

/** The reason an operator reads: the Corbel code behind an error end when there is one. */
function closeReason(reason: StreamEndReason, error: { code?: string } | undefined): string {
  if (reason !== 'error') return reason;
  const corbel = error ? CorbelError.find(error) : undefined;
  switch (corbel?.corbelCode) {
    case 'DRAINING':
      return 'drained';
    case 'TOKEN_EXPIRED':
      return 'auth-expired';
    case 'SLOW_CONSUMER':
      return 'slow-consumer';
    case 'HISTORY_GONE':
      return 'history-gone';
    default:
      return 'error';
  }
}
