/**
 * What the `@example`s in the packages' doc comments may take as given: the
 * weather app's router and channel, a hub, a request, a client, a store. An
 * example is compiled inside its own module (its imports and helpers are in
 * scope), with every public export of the Corbel entries and these names as
 * globals; everything else it uses must exist with the types it assumes.
 * Internal plumbing an example only passes along (a bridge, a gate, a socket
 * set) is `any` here: the example still checks against the real signature of
 * the function it documents.
 */
import type * as fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { createCorbelClient, ReverseClient } from '@corbel/client';
import type { Channel, EventLog, Hub, StoredEvent } from '@corbel/core';
import type { ContractDocument } from '@corbel/core/contract';
import type { CorbelServer } from '@corbel/server';
import type { SqliteStore } from '@corbel/store-sqlite';
import type * as trpcClient from '@trpc/client';
import type * as trpcServer from '@trpc/server';
import type { Redis } from 'ioredis';
import type superjsonDefault from 'superjson';
import type * as zod from 'zod';
import type { readingsChannel as weatherReadings } from '../../../apps/weather/src/router.js';
import type { withSessions } from '../../../apps/weather/src/station-sessions.js';

/** The station's whole router: weather, consumer.ack, sessions and reverse calls. */
type StationRouter = ReturnType<typeof withSessions<WeatherRouter>>;

type Plumbing = any;

declare global {
  type WeatherRouter = import('../../../apps/weather/src/router.js').WeatherRouter;
  type Reading = import('../../../apps/weather/src/router.js').Reading;
  var z: typeof zod.z;
  var superjson: typeof superjsonDefault;
  var initTRPC: typeof trpcServer.initTRPC;
  var createTRPCClient: typeof trpcClient.createTRPCClient;
  var splitLink: typeof trpcClient.splitLink;
  var httpLink: typeof trpcClient.httpLink;
  var httpBatchLink: typeof trpcClient.httpBatchLink;
  var httpSubscriptionLink: typeof trpcClient.httpSubscriptionLink;
  var readFileSync: typeof fs.readFileSync;
  var writeFileSync: typeof fs.writeFileSync;
  var t: ReturnType<typeof import('@corbel/core').initCorbel<WeatherContext>>;
  var readingsChannel: typeof weatherReadings;
  var reading: Reading;
  var incoming: StoredEvent<Reading>;
  var channels: Channel[];
  var contract: ContractDocument;
  var oldContract: ContractDocument;
  var newContract: ContractDocument;
  var signal: AbortSignal;
  var lastEventId: string;
  var result: unknown;
  var spec: string;
  var callId: string;
  var sessionId: string;
  var instanceId: string;
  var show: (value: unknown) => void;
  var resync: () => Promise<void>;
  var getToken: () => Promise<string>;
  var router: WeatherRouter;
  var appRouter: WeatherRouter;
  var weatherRouter: WeatherRouter;
  var hub: Hub;
  var readings: typeof weatherReadings;
  var alerts: typeof weatherReadings;
  var jobs: typeof weatherReadings;
  var client: ReturnType<typeof createCorbelClient<StationRouter>> & ReverseClient;
  var server: CorbelServer;
  var store: SqliteStore;
  var redis: Redis;
  var req: IncomingMessage;
  var res: ServerResponse;
  var url: string;
  var key: Buffer;
  var token: string;
  var id: string;
  var path: string;
  var input: unknown;
  var file: string;
  var body: string;
  var headers: Record<string, string>;
  var sessionIds: string[];
  var draining: boolean;
  var logger: { info(obj: object, msg: string): void };
  var bridge: Plumbing;
  var conn: Plumbing;
  var pool: Plumbing;
  var op: Plumbing;
  var gate: Plumbing;
  var registry: Plumbing;
  var instance: string;
  var queue: StoredEvent<Reading>[];
  var sockets: Plumbing;
  var streams: Plumbing;
  var limits: Plumbing;
  var httpServer: Plumbing;
  var metrics: Plumbing;
  var insert: Plumbing;
  var positions: Plumbing;
  var sessions: Plumbing;
  var consumers: Plumbing;
  var reverse: Plumbing;
  var station: { port: number; url: string };
  var sse: Plumbing;
  var source: Plumbing;
  var request: Plumbing;
  var abort: Plumbing;
  var rc: Plumbing;
  var ctx: Plumbing;
  var refuse: Plumbing;
  var tls: Plumbing;
  var onRequest: Plumbing;
  var inFlight: number;
  var settings: Plumbing;
  var acked: Plumbing;
  var delivered: Plumbing;
  var cleanup: () => Promise<void>;
  var service: Plumbing;
  var sessionRouter: Plumbing;
  var boardHandlers: Plumbing;
  type WeatherContext = import('../../../apps/weather/src/router.js').WeatherContext;
  var describe: typeof import('vitest').describe;
  var identity: string;
  var idempotencyKey: string;
  var run: () => Promise<unknown>;
  var runHandler: () => Promise<import('@corbel/core').ReverseResult>;
  var deadline: number;
  var pathname: string;
  var log: EventLog;
  var row: unknown;
  var db: Plumbing;
  var startedAt: Date;
  var header: string;
  var isSubscription: (op: trpcClient.Operation) => boolean;
  var next: Plumbing;
  var error: Plumbing;
  var complete: Plumbing;
  var consumer: import('@corbel/client').DurableConsumer<Reading>;
  var spawnStation: (args: string[]) => Promise<AsyncDisposable>;
  var startStation: Plumbing;
}
