import { request } from 'node:http';
import { Readable } from 'node:stream';
import { createCorbelClient } from '@corbel/client';
import {
  type Fault,
  type FaultProxy,
  openSse,
  queryInput,
  requireRedisServer,
  type StartedProcess,
  seededRandom,
  startFaultProxy,
  startRedisServer,
} from '@corbel/testing';
import superjson from 'superjson';
import { describe, expect, it } from 'vitest';
import type { WeatherRouter } from '../../apps/weather/src/router.js';
import { startRedisStation, subscribeReadings, until } from '../redis/fixture.js';

/**
 * Seeded random fault schedules between clients and two stations on one
 * Redis: publishers report through fault proxies (resets before and after
 * the answer, stalls, half-open closes, latency, slow reads), subscribers
 * read through proxies of their own. Whatever the schedule: every
 * acknowledged report is in the log once with its id, a report that failed
 * is in it at most once, and every subscriber gets every acknowledged
 * reading once.
 *
 * CORBEL_FAULT_SCHEDULES=<n> runs n schedules (default 3; the figure
 * is 100), from CORBEL_FAULT_SEED (default 1); a failing run prints its seed,
 * and CORBEL_FAULT_SCHEDULES=1 CORBEL_FAULT_SEED=<seed> replays it.
 */
const SCHEDULES = Number(process.env.CORBEL_FAULT_SCHEDULES ?? 3);
const FIRST_SEED = Number(process.env.CORBEL_FAULT_SEED ?? 1);
const PUBLISHERS = 3;
const REPORTS = 8;

/** A fault for a publisher's connection. */
function commandFault(random: () => number): Fault {
  const r = random();
  if (r < 0.5) return { kind: 'pass' };
  if (r < 0.6) return { kind: 'reset-before' };
  if (r < 0.72) return { kind: 'reset-after' };
  if (r < 0.8) return { kind: 'stall' };
  if (r < 0.87) return { kind: 'half-open' };
  if (r < 0.95) return { kind: 'latency', ms: Math.round(random() * 300) };
  return { kind: 'slow-read', bytes: 16, everyMs: 5 };
}

/**
 * A subscriber's connection: no stalls (a stalled stream is only noticed after
 * the 25 s inactivity timeout, longer than a schedule).
 */
function streamFault(random: () => number): Fault {
  const r = random();
  if (r < 0.6) return { kind: 'pass' };
  if (r < 0.7) return { kind: 'reset-before' };
  if (r < 0.8) return { kind: 'reset-after' };
  if (r < 0.85) return { kind: 'half-open' };
  return { kind: 'latency', ms: Math.round(random() * 200) };
}

/**
 * A fetch that opens a new connection per request, so the proxy's per-connection
 * schedule applies to every command (a kept-alive connection would dodge it).
 */
const freshConnectionFetch: typeof fetch = (async (input: string | URL | Request, init: RequestInit = {}) => {
  const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
  const headers = Object.fromEntries(new Headers(init.headers));
  return new Promise<Response>((resolve, reject) => {
    const req = request(
      url,
      { method: init.method ?? 'GET', headers, agent: false, signal: init.signal ?? undefined },
      (res) => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
        resolve(
          new Response(Readable.toWeb(res) as ReadableStream, { status: res.statusCode ?? 500, headers: h }),
        );
      },
    );
    req.on('error', reject);
    req.end(init.body as string | undefined);
  });
}) as typeof fetch;

/** Every reading after `afterId` read straight from a station (no proxy), up to a fresh end marker. */
async function logAfter(url: string, afterId: string): Promise<{ id: string; city: string }[]> {
  const client = createCorbelClient<WeatherRouter>({ url });
  const end = `end-${Math.random()}`;
  await client.weather.report.mutate({ city: end, celsius: 0 });
  await using sse = await openSse(`${url}/rpc/weather.readings?${queryInput({})}`, {
    'last-event-id': afterId,
  });
  const out: { id: string; city: string }[] = [];
  for (let i = 0; i < 10_000 && out.at(-1)?.city !== end; i++) {
    const frame = await sse.next(10_000);
    if (!frame) break;
    if (frame.event === 'message' && frame.id)
      out.push({ id: frame.id, city: (superjson.parse(frame.data) as { city: string }).city });
  }
  expect(out.at(-1)?.city).toBe(end);
  return out.slice(0, -1);
}

const redisAvailable = requireRedisServer('tests/faults/seeded-schedules');

describe.skipIf(!redisAvailable)(
  'seeded fault schedules: two stations on Redis, faults between clients and stations',
  () => {
    it(`${SCHEDULES} schedules from seed ${FIRST_SEED}: 0 acknowledged lost, 0 twice, every mutation applied once`, {
      timeout: 60_000 + SCHEDULES * 60_000,
    }, async () => {
      await using redis = await startRedisServer();
      const stations: StartedProcess[] = [];
      const proxies: FaultProxy[] = [];
      try {
        for (let i = 0; i < 2; i++) stations.push(await startRedisStation(redis.url));
        const urls = stations.map((s) => s.ready);
        const ports = urls.map((u) => Number(new URL(u).port));
        const direct = createCorbelClient<WeatherRouter>({ url: urls[0]! });
        const totals = { acked: 0, failed: 0, delivered: 0, faults: {} as Record<string, number> };

        for (let seed = FIRST_SEED; seed < FIRST_SEED + SCHEDULES; seed++) {
          const random = seededRandom(seed);
          const pub = await Promise.all(
            ports.map((port) => startFaultProxy({ target: { port }, plan: () => commandFault(random) })),
          );
          const sub = await Promise.all(
            ports.map((port) => startFaultProxy({ target: { port }, plan: () => streamFault(random) })),
          );
          proxies.push(...pub, ...sub);
          try {
            const { id: start } = await direct.weather.report.mutate({ city: `start-${seed}`, celsius: 0 });
            const subscribers = [0, 1].map((i) =>
              subscribeReadings(`sub${i}`, [sub[i]!.url, sub[1 - i]!.url], start),
            );
            const acked = new Map<string, string>();
            const failed: string[] = [];
            await Promise.all(
              Array.from({ length: PUBLISHERS }, async (_, p) => {
                const client = createCorbelClient<WeatherRouter>({
                  url: [pub[p % 2]!.url, pub[(p + 1) % 2]!.url],
                  fetch: freshConnectionFetch,
                  timeoutMs: 20_000,
                  mutationRetry: { attempts: 10, attemptTimeoutMs: 1000 },
                });
                for (let k = 0; k < REPORTS; k++) {
                  const city = `s${seed}-p${p}-n${k}`;
                  try {
                    const { id } = await client.weather.report.mutate({ city, celsius: k });
                    acked.set(city, id);
                  } catch {
                    failed.push(city);
                  }
                }
              }),
            );
            const log = await logAfter(urls[1]!, start);
            const counts = new Map<string, number>();
            for (const r of log) counts.set(r.city, (counts.get(r.city) ?? 0) + 1);
            const context = `seed ${seed} (replay: CORBEL_FAULT_SCHEDULES=1 CORBEL_FAULT_SEED=${seed})`;
            for (const [city, id] of acked) {
              expect(counts.get(city), `${context}: ${city} acknowledged as ${id}, in the log`).toBe(1);
              expect(log.find((r) => r.city === city)?.id, context).toBe(id);
            }
            for (const city of failed)
              expect(counts.get(city) ?? 0, `${context}: failed ${city}`).toBeLessThanOrEqual(1);
            for (const s of subscribers) {
              await until(
                () => [...acked.keys()].every((c) => s.received.some((r) => r.city === c)),
                () =>
                  `${context}: ${s.name} has ${s.received.length} readings, states ${s.states.slice(-5).join(',')}`,
                30_000,
              );
              const ids = s.received.map((r) => r.id);
              expect(new Set(ids).size, `${context}: ${s.name} got a reading twice`).toBe(ids.length);
              s.close();
              totals.delivered += s.received.length;
            }
            totals.acked += acked.size;
            totals.failed += failed.length;
            for (const p of [...pub, ...sub])
              for (const [kind, n] of Object.entries(p.applied))
                totals.faults[kind] = (totals.faults[kind] ?? 0) + n;
          } finally {
            for (const p of [...pub, ...sub]) await p.close();
          }
        }
        console.info(
          `fault schedules: seeds ${FIRST_SEED}..${FIRST_SEED + SCHEDULES - 1}; ${totals.acked} acknowledged reports ` +
            `each in the log once and delivered once to both subscribers (${totals.delivered} deliveries); ` +
            `${totals.failed} reports failed after every retry; connections by fault: ${JSON.stringify(totals.faults)}`,
        );
        expect(totals.acked).toBeGreaterThan(0);
      } finally {
        for (const p of proxies) await p.close().catch(() => {});
        for (const s of stations) await s.stop('SIGKILL');
      }
    });
  },
);
