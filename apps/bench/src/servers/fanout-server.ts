/**
 * One fan-out contender in its own process: `--kind corbel|trpc|raw|socketio`.
 * Every contender publishes the same events from this process; subscribers
 * live in another process (clients/subscriber-client.ts).
 *
 * - corbel: createCorbelServer, the bench router, hub.subscribe;
 * - trpc: the SAME router and hub served by stock `@trpc/server/adapters/standalone`;
 * - raw: node:http SSE, one superjson serialization per event, written to every response;
 * - socketio: Socket.IO 4, websocket transport, `io.emit` per event.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { writeHeapSnapshot } from 'node:v8';
import { createHub } from '@corbel/core';
import { createCorbelServer } from '@corbel/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { Server as SocketIoServer } from 'socket.io';
import superjson from 'superjson';
import { atRate } from '../at-rate.js';
import { benchChannel, benchEvent, createBenchRouter } from '../bench-router.js';
import { BENCH_LIMITS } from '../corbel-limits.js';
import { argsOf, collect, emit, processStats, serveIpc } from '../ipc.js';
import { paced } from '../paced.js';
import { percentile } from '../stats.js';

const args = argsOf();
const kind = args.kind ?? 'corbel';
// `--metrics off` serves Corbel without its Prometheus metrics (to see what they cost).
const metrics = args.metrics === 'off' ? { metrics: false as const } : {};

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

type Publish = (seq: number) => unknown;

async function start(): Promise<{ url: string; path: string; publish: Publish; close: () => Promise<void> }> {
  if (kind === 'corbel' || kind === 'trpc') {
    const hub = createHub();
    const router = createBenchRouter(hub);
    const publish: Publish = (seq) => hub.publish(benchChannel, benchEvent(seq));
    if (kind === 'corbel') {
      const server = createCorbelServer({ router, limits: BENCH_LIMITS, ...metrics });
      const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
      return { url, path: '/rpc/events', publish, close: () => server.close() };
    }
    const server = createHTTPServer({ router, basePath: '/rpc/' });
    const url = await listen(server);
    return {
      url,
      path: '/rpc/events',
      publish,
      close: () => {
        server.closeAllConnections();
        return new Promise((r) => server.close(() => r()));
      },
    };
  }
  if (kind === 'raw') {
    const open = new Set<ServerResponse>();
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/events') !== true) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      res.write('retry: 1000\nevent: connected\ndata: {}\n\n');
      open.add(res);
      res.once('close', () => open.delete(res));
    });
    const url = await listen(server);
    const publish: Publish = (seq) => {
      const event = benchEvent(seq);
      const frame = Buffer.from(`id: ${seq}\ndata: ${JSON.stringify(superjson.serialize(event))}\n\n`);
      for (const res of open) res.write(frame);
    };
    return {
      url,
      path: '/events',
      publish,
      close: () => {
        server.closeAllConnections();
        return new Promise((r) => server.close(() => r()));
      },
    };
  }
  if (kind === 'socketio') {
    const server = createServer();
    const io = new SocketIoServer(server, { transports: ['websocket'], serveClient: false });
    const url = await listen(server);
    const publish: Publish = (seq) => io.emit('event', benchEvent(seq));
    return {
      url,
      path: '/socket.io/?EIO=4&transport=websocket',
      publish,
      close: async () => {
        await io.close();
      },
    };
  }
  throw new Error(`unknown kind ${kind}`);
}

async function main() {
  const { url, path, publish, close } = await start();
  let published = 0;
  let acked = 0;
  let running = false;
  let wakeOnAck: (() => void) | null = null;
  let loop: Promise<void> = Promise.resolve();
  // Hand-off times (ms) of the events published at a fixed rate, since the last `stop`.
  let handoffs: number[] = [];

  /**
   * Publishes one event and records its hand-off: the time from the publish
   * until the event was written to every subscriber socket, the server's own
   * share of the latency. Every contender writes within the publishing turn:
   * raw SSE and Socket.IO in the publish call (and the ticks Node uncorks
   * in), Corbel in an immediate its hub scheduled before `publish` resolved,
   * which runs before the one taken here. Stock tRPC's per-subscriber async
   * generators may still be writing: its figure is a lower bound.
   */
  const publishTimed = async (seq: number) => {
    const t0 = performance.now();
    await publish(seq);
    setImmediate(() => handoffs.push(performance.now() - t0));
  };

  /** Publishes as fast as subscribers keep up: at most `window` events ahead of the average subscriber. */
  const saturate = async (window: number, burst: number) => {
    while (running) {
      if (published - acked >= window) {
        await new Promise<void>((r) => {
          wakeOnAck = r;
        });
        continue;
      }
      for (let i = 0; i < burst && published - acked < window; i++) await publish(++published);
      await tick();
    }
  };

  serveIpc({
    stats: () => processStats(),
    gc: () => collect(),
    /** Writes a heap snapshot (for finding what each subscriber holds) and returns its path. */
    heapSnapshot: async ({ dir }: { dir: string }) => {
      await collect();
      return writeHeapSnapshot(join(dir, `fanout-${kind}-${process.pid}.heapsnapshot`));
    },
    saturate: ({ window, burst }: { window: number; burst: number }) => {
      running = true;
      acked = published;
      loop = saturate(window, burst);
      return { published };
    },
    rate: ({ perSec }: { perSec: number }) => {
      running = true;
      loop = atRate(
        perSec,
        () => publishTimed(++published),
        () => running,
      ).then(() => {});
      return { published };
    },
    /** Publishes `perSec` for `durationMs`, skipping the ticks a publish overran (the scale check). */
    pace: ({ perSec, durationMs }: { perSec: number; durationMs: number }) =>
      paced(perSec, durationMs, () => publish(++published)),
    ack: ({ delivered }: { delivered: number }) => {
      acked = Math.max(acked, delivered);
      const wake = wakeOnAck;
      wakeOnAck = null;
      wake?.();
    },
    /** Stops publishing; answers the count so far and the hand-offs of the rate phase (empty after `saturate`). */
    stop: async () => {
      running = false;
      const wake = wakeOnAck;
      wakeOnAck = null;
      wake?.();
      await loop;
      // The last event's hand-off is recorded in the check phase of its turn.
      await tick();
      const sorted = Float64Array.from(handoffs).sort();
      handoffs = [];
      return { published, handoff: { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) } };
    },
    close: () => close(),
  });
  emit('ready', { url, path });
  process.once('SIGTERM', () => process.exit(0));
}

main().catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
});
