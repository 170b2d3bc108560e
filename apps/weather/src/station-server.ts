import { timingSafeEqual } from 'node:crypto';
import { createHub, createMemoryLog, type EventLog } from '@corbel/core';
import { type CorbelServer, createCorbelServer } from '@corbel/server';
import { TRPCError } from '@trpc/server';
import { loadLatestReadings } from './latest-readings.js';
import { createWeatherRouter, type WeatherContext } from './router.js';

export interface StationOptions {
  port?: number;
  host?: string;
  /** Directory for durable data. */
  dataDir?: string;
  /** When set, every request and stream must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** The event log; defaults to an in-memory one. */
  log?: EventLog;
}

export interface Station extends AsyncDisposable {
  url: string;
  port: number;
  server: CorbelServer;
  close(): Promise<void>;
}

/** Constant-time bearer check. */
function tokenMatches(header: string | undefined, token: string): boolean {
  const presented = Buffer.from(header?.startsWith('Bearer ') ? header.slice(7) : '');
  const expected = Buffer.from(token);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

/** Starts a weather station in this process. */
export async function startStation(opts: StationOptions = {}): Promise<Station> {
  const hub = createHub({ log: opts.log ?? createMemoryLog() });
  const latest = await loadLatestReadings(hub);
  const router = createWeatherRouter({ hub, latest });
  const server = createCorbelServer({
    router,
    createContext: ({ req }): WeatherContext => {
      if (opts.token === undefined) return { identity: null };
      if (!tokenMatches(req.headers.authorization, opts.token)) {
        throw new TRPCError({
          code: 'UNAUTHORIZED',
          message: 'a valid "Authorization: Bearer <token>" header is required',
        });
      }
      return { identity: 'token' };
    },
  });
  const { url, port } = await server.listen({ port: opts.port ?? 0, host: opts.host ?? '127.0.0.1' });
  const close = async () => {
    await server.close();
    await hub.close();
  };
  return { url, port, server, close, [Symbol.asyncDispose]: close };
}
