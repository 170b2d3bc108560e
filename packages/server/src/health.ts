import type { ServerResponse } from 'node:http';
import type { EventLog } from '@corbel/core';
import { sendJson } from './serve/respond.js';

export interface HealthOptions {
  /** True once the server drains: /healthz says so, /readyz answers not ready. */
  isDraining(): boolean;
  /** The event log readiness checks ping. */
  store?: Pick<EventLog, 'ping'> | undefined;
  /** An extra readiness check: throw (or reject) to be not ready. */
  readiness?: (() => void | Promise<void>) | undefined;
}

/**
 * `/healthz` (the process answers) and `/readyz` (it should get traffic:
 * not draining, store reachable within 2 s, the app's own check passes).
 *
 * @example
 * const health = createHealth({ isDraining: () => draining, store: hub.log });
 * if (health.handle(res, pathname)) return;
 */
export function createHealth(opts: HealthOptions) {
  async function readiness(): Promise<{ ready: boolean; reason?: string }> {
    if (opts.isDraining()) return { ready: false, reason: 'draining' };
    try {
      await withTimeout(
        (async () => {
          await opts.store?.ping?.();
          await opts.readiness?.();
        })(),
        2000,
      );
    } catch (error) {
      return { ready: false, reason: `store unreachable: ${(error as Error)?.message ?? String(error)}` };
    }
    return { ready: true };
  }

  return {
    readiness,
    /** Answers /healthz and /readyz; false for any other path. */
    handle(res: ServerResponse, pathname: string): false | Promise<void> {
      if (pathname === '/healthz') {
        sendJson(res, 200, { status: 'ok', draining: opts.isDraining() }, { 'cache-control': 'no-store' });
        return Promise.resolve();
      }
      if (pathname !== '/readyz') return false;
      return readiness().then((state) => {
        sendJson(
          res,
          state.ready ? 200 : 503,
          state.ready ? { status: 'ready' } : { status: 'not-ready', reason: state.reason },
          { 'cache-control': 'no-store' },
        );
      });
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
