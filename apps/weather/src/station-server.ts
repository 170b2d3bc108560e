import { timingSafeEqual } from 'node:crypto';
import {
  type ConsumerPositions,
  CorbelError,
  createDurableConsumers,
  createHub,
  createMemoryConsumerPositions,
  createMemoryLog,
  createMemorySessions,
  type EventLog,
  type Hub,
  type IdempotencyStore,
  type SessionRegistry,
} from '@corbel/core';
import { withContract } from '@corbel/core/contract';
import {
  type CorbelLogger,
  type CorbelServer,
  createCorbelMetrics,
  createCorbelServer,
  type Limits,
  staticTokenAuth,
} from '@corbel/server';
import {
  createRedisConsumers,
  createRedisIdempotency,
  createRedisSessions,
  openRedisLog,
} from '@corbel/store-redis';
import { openSqliteStore, type SqliteSynchronous } from '@corbel/store-sqlite';
import { weatherContractInfo } from './contract-info.js';
import { loadLatestReadings } from './latest-readings.js';
import { createWeatherRouter, type LatestReadings, readingsChannel, type WeatherContext } from './router.js';
import { createStationSessions, withSessions } from './station-sessions.js';
import { webPage } from './web/index.js';
import { loadPageRevocations } from './web/page-revocations.js';

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
  /** `redis://host:port`: share one history with every station on this Redis (overrides `store`). */
  redisUrl?: string;
  /**
   * Reverse proxies in front of the station (addresses or CIDRs): their
   * `Forwarded` / `X-Forwarded-For` names the client, for limits and logs.
   */
  trustProxy?: string[];
  /** Durable consumers (`--durable` boards): idle time before one expires (default 24 h). */
  consumerTtlMs?: number;
  /** Durable consumers: a reading not acknowledged within this is delivered again (default 30 s). */
  ackTimeoutMs?: number;
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

/**
 * The station's event log, sessions and idempotency records: SQLite in the
 * data directory unless told otherwise (records then survive a restart);
 * in memory they protect retries while the process runs.
 */
function stationStore(opts: StationOptions): {
  log: EventLog;
  sessions: SessionRegistry;
  idempotency?: IdempotencyStore;
  consumers?: ConsumerPositions;
} {
  const store = opts.store ?? (opts.dataDir ? 'sqlite' : 'memory');
  if (store === 'memory') return { log: createMemoryLog(), sessions: createMemorySessions() };
  if (!opts.dataDir) throw new TypeError('the sqlite store needs a data directory (--data <dir>)');
  return openSqliteStore({
    dataDir: opts.dataDir,
    synchronous: opts.synchronous,
    consumerTtlMs: opts.consumerTtlMs,
    ...(opts.retainReadings ? { retention: { maxCount: opts.retainReadings } } : {}),
  });
}

/**
 * The station serves one tenant: open on loopback, every local client is the
 * same identity (its address); with a token, every client shares it. Limits
 * per identity are therefore the station's whole capacity, sized for 10,000
 * subscribers with room for commands and the web page, and no per-identity
 * command rate (it would throttle every client together when one runs away).
 */
export const STATION_LIMITS: Partial<Limits> = {
  maxConnections: 20_000,
  maxStreamsPerIdentity: 20_000,
  maxInFlightPerIdentity: 4096,
  commandsPerSecond: 0,
};

/** Starts a weather station in this process. */
export async function startStation(opts: StationOptions = {}): Promise<Station> {
  const metrics = createCorbelMetrics();
  // On Redis, sessions are shared too: a board's session opened on one station is known on all.
  const redisLog = !opts.log && opts.redisUrl ? await openRedisLog({ url: opts.redisUrl }) : null;
  // Idempotency-Key records live where the readings do: a repeated weather.report
  // gets the first one's id after a restart (SQLite) or on another station (Redis).
  const { log, sessions, idempotency, consumers } = redisLog
    ? {
        log: redisLog,
        sessions: createRedisSessions(redisLog),
        idempotency: createRedisIdempotency(redisLog),
        consumers: createRedisConsumers(redisLog, { ttlMs: opts.consumerTtlMs }),
      }
    : opts.log
      ? { log: opts.log, sessions: createMemorySessions(), idempotency: undefined, consumers: undefined }
      : stationStore(opts);
  const hub = createHub({ hooks: metrics.hubHooks, log });
  // Durable consumers keep their positions where the readings are (in memory for a memory store).
  const durable = createDurableConsumers({
    hub,
    positions: consumers ?? createMemoryConsumerPositions({ ttlMs: opts.consumerTtlMs }),
    ackTimeoutMs: opts.ackTimeoutMs,
    hooks: metrics.durableHooks,
  });
  // On a shared log, readings reported to other stations update `latest` here too.
  const followFrom = hub.log.tail ? ((await hub.log.latestId(readingsChannel.name)) ?? undefined) : null;
  const latest = await loadLatestReadings(hub);
  const following = followFrom !== null ? followReadings(hub, latest, followFrom) : null;
  const stationSessions = createStationSessions(hub, sessions);
  const boards = stationSessions.reverse.describeBoards;
  // The station also answers its own contract (corbel.contract) for tools like `corbel`.
  const router = withContract(
    withSessions(createWeatherRouter({ hub, latest, boards, consumers: durable }), stationSessions),
    weatherContractInfo,
  );
  // Ended page sessions live in the station's own log, so they survive a restart.
  const revocations = opts.token === undefined ? undefined : await loadPageRevocations(hub);
  // The page at `/`; with a token, its HttpOnly session cookie is accepted beside the bearer header.
  let server: CorbelServer | undefined;
  const web = await webPage({
    token: opts.token,
    tokenMatches: (t) => opts.token !== undefined && tokenMatches(`Bearer ${t}`, opts.token),
    revocations,
    // Wrong tokens at /session share the bearer header's failure budget.
    authFailed: (req) => server?.authFailed(req) ?? 0,
  });
  // The token holder is the station's operator (session.list); a page cookie is not.
  const bearer =
    opts.token === undefined ? undefined : staticTokenAuth({ tokens: opts.token, operator: true });
  server = createCorbelServer({
    router,
    tls: opts.tls,
    logger: opts.logger,
    metrics,
    store: hub.log,
    fallback: web.fallback,
    // Every command and stream (re)connect: the bearer token, or the page's session cookie.
    authenticate: bearer && ((req) => bearer(req) ?? web.sessions?.identify(req) ?? null),
    createContext: ({ identity }): WeatherContext => ({
      identity: identity?.id ?? null,
      // An open station has one tenant, whoever reaches it: every caller is its operator.
      operator: opts.token === undefined || identity?.operator === true,
    }),
    limits: STATION_LIMITS,
    trustProxy: opts.trustProxy,
    idempotency,
  });
  const { url, port } = await server.listen({ port: opts.port ?? 0, host: opts.host ?? '127.0.0.1' });
  const close = async () => {
    await server.close();
    following?.stop();
    revocations?.stop();
    stationSessions.reverse.service.close();
    stationSessions.service.close();
    await durable.close();
    await hub.close();
  };
  return { url, port, server, close, [Symbol.asyncDispose]: close };
}

/** Keeps `latest` in step with readings any station reports; resumes by id after store errors. */
function followReadings(hub: Hub, latest: LatestReadings, from: string | undefined): { stop(): void } {
  const ac = new AbortController();
  void (async () => {
    let after = from;
    while (!ac.signal.aborted) {
      try {
        for await (const [id, reading] of await hub.subscribe(readingsChannel, {
          after,
          signal: ac.signal,
        })) {
          after = id;
          latest.set(reading);
        }
      } catch (error) {
        if (CorbelError.find(error)?.corbelCode === 'HISTORY_GONE') after = undefined;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  })();
  return { stop: () => ac.abort() };
}
