import { timingSafeEqual } from 'node:crypto';
import {
  createHub,
  createMemoryLog,
  createMemorySessions,
  type EventLog,
  type SessionRegistry,
} from '@corbel/core';
import {
  type CorbelLogger,
  type CorbelServer,
  createCorbelMetrics,
  createCorbelServer,
  staticTokenAuth,
} from '@corbel/server';
import { openSqliteStore, type SqliteSynchronous } from '@corbel/store-sqlite';
import { loadLatestReadings } from './latest-readings.js';
import { createWeatherRouter, type WeatherContext } from './router.js';
import { createStationSessions, withSessions } from './station-sessions.js';
import { webPage } from './web/index.js';

export interface StationOptions {
  port?: number;
  host?: string;
  /** Directory for durable data. */
  dataDir?: string;
  /** When set, every request and stream must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** Serve HTTPS with this PEM key and certificate. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Where the server logs (a pino logger); silent without one. */
  logger?: CorbelLogger;
  /** The event log; defaults to `store`. */
  log?: EventLog;
  /** Where events live when no `log` is given: SQLite under `dataDir` (the default when there is one) or memory. */
  store?: 'memory' | 'sqlite';
  /** SQLite durability (default NORMAL: survives a process crash; FULL: also power loss). */
  synchronous?: SqliteSynchronous;
  /** Readings kept (SQLite store; default 100,000); older resumes get HISTORY_GONE. */
  retainReadings?: number;
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

/** The station's event log and sessions: SQLite in the data directory unless told otherwise. */
function stationStore(opts: StationOptions): { log: EventLog; sessions: SessionRegistry } {
  const store = opts.store ?? (opts.dataDir ? 'sqlite' : 'memory');
  if (store === 'memory') return { log: createMemoryLog(), sessions: createMemorySessions() };
  if (!opts.dataDir) throw new TypeError('the sqlite store needs a data directory (--data <dir>)');
  return openSqliteStore({
    dataDir: opts.dataDir,
    synchronous: opts.synchronous,
    ...(opts.retainReadings ? { retention: { maxCount: opts.retainReadings } } : {}),
  });
}

/** Starts a weather station in this process. */
export async function startStation(opts: StationOptions = {}): Promise<Station> {
  const metrics = createCorbelMetrics();
  const { log, sessions } = opts.log
    ? { log: opts.log, sessions: createMemorySessions() }
    : stationStore(opts);
  const hub = createHub({ hooks: metrics.hubHooks, log });
  const latest = await loadLatestReadings(hub);
  const stationSessions = createStationSessions(hub, sessions);
  const router = withSessions(createWeatherRouter({ hub, latest }), stationSessions);
  // The page at `/`; with a token, its HttpOnly session cookie is accepted beside the bearer header.
  const web = await webPage({
    token: opts.token,
    tokenMatches: (t) => opts.token !== undefined && tokenMatches(`Bearer ${t}`, opts.token),
  });
  const bearer = opts.token === undefined ? undefined : staticTokenAuth({ tokens: opts.token });
  const server = createCorbelServer({
    router,
    tls: opts.tls,
    logger: opts.logger,
    metrics,
    store: hub.log,
    fallback: web.fallback,
    // Every command and stream (re)connect: the bearer token, or the page's session cookie.
    authenticate: bearer && ((req) => bearer(req) ?? web.sessions?.identify(req) ?? null),
    createContext: ({ identity }): WeatherContext => ({ identity: identity?.id ?? null }),
  });
  const { url, port } = await server.listen({ port: opts.port ?? 0, host: opts.host ?? '127.0.0.1' });
  const close = async () => {
    await server.close();
    stationSessions.service.close();
    await hub.close();
  };
  return { url, port, server, close, [Symbol.asyncDispose]: close };
}
