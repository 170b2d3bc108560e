/**
 * Found by the full bench: "report command over HTTP, acknowledged/s" fell
 * from 3,678/s to 502/s once the client gave every mutation an
 * Idempotency-Key. The server refused a batch carrying the header (one key
 * named one call), so the client sent keyed mutations unbatched: one fetch
 * per call. Now a batch carries one key per call (`Idempotency-Key: k0, k1,
 * …`, protocol.md §3.3), each call is recorded and replayed on its own, and
 * the client batches keyed mutations again. A retry of a batch cut off after
 * the server ran some of its calls carries the same keys: the finished calls
 * are replayed, the rest run, and every call applies once.
 */
import { createCorbelClient } from '@corbel/client';
import {
  createHub,
  createMemoryIdempotency,
  defineChannel,
  type IdempotencyStore,
  initCorbel,
  inputFingerprint,
} from '@corbel/core';
import { createCorbelServer } from '@corbel/server';
import { type FaultProxy, startFaultProxy } from '@corbel/testing';
import { TRPCError } from '@trpc/server';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

const readings = defineChannel('test.readings', z.object({ city: z.string(), celsius: z.number() }));

/** A station-like server that counts requests (with their keys) and how often each city was applied. */
async function startCountingServer(idempotency?: { store: IdempotencyStore; waitMs: number }) {
  const hub = createHub();
  /** The Idempotency-Key header of every command request, in arrival order. */
  const requests: string[] = [];
  const applied = new Map<string, number>();
  const started = new Set<string>();
  const published: { id: string; city: string }[] = [];
  /** Slow reports wait for this until it is open, or until their caller leaves. */
  const gate = { open: false };
  const t = initCorbel();
  const router = t.router({
    report: t.procedure
      .input(z.object({ city: z.string(), celsius: z.number() }))
      .mutation(async ({ input, signal }) => {
        started.add(input.city);
        if (input.city.startsWith('slow') && !gate.open) {
          await new Promise<void>((resolve) => {
            const poll = setInterval(() => {
              if (gate.open || signal?.aborted) {
                clearInterval(poll);
                resolve();
              }
            }, 5);
          });
          if (!gate.open) throw new TRPCError({ code: 'CLIENT_CLOSED_REQUEST', message: 'the caller left' });
        }
        applied.set(input.city, (applied.get(input.city) ?? 0) + 1);
        const { id } = await hub.publish(readings, input);
        published.push({ id, city: input.city });
        return { id };
      }),
  });
  const server = createCorbelServer({
    router,
    idempotency,
    // Called once for every request, replayed or run: the count of requests, seen by the server.
    authenticate: (req) => {
      requests.push(String(req.headers['idempotency-key'] ?? ''));
      return { id: 'tester' };
    },
  });
  const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
  return {
    router,
    server,
    hub,
    url,
    port: Number(new URL(url).port),
    requests,
    applied,
    started,
    published,
    gate,
    async close() {
      await server.close();
      await hub.close();
    },
  };
}

type CountingRouter = Awaited<ReturnType<typeof startCountingServer>>['router'];

const waitFor = async (what: string, ok: () => boolean) => {
  for (let i = 0; i < 500 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!ok()) throw new Error(`timed out waiting for ${what}`);
};

describe('keyed mutations go out batched, one key per call, and each applies once', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  const serve = async (idempotency?: { store: IdempotencyStore; waitMs: number }) => {
    const s = await startCountingServer(idempotency);
    cleanup.push(() => s.close());
    return s;
  };
  const proxy = async (port: number): Promise<FaultProxy> => {
    const p = await startFaultProxy({ target: { port } });
    cleanup.push(() => p.close());
    return p;
  };

  it('120 concurrent keyed reports travel in 3 requests of at most 50 calls', async () => {
    const s = await serve();
    const client = createCorbelClient<CountingRouter>({ url: s.url });
    const n = 120;
    const answers = await Promise.all(
      Array.from({ length: n }, (_, i) => client.report.mutate({ city: `c${i}`, celsius: i % 50 })),
    );
    // Before the fix: 120 requests, one per call.
    expect(s.requests).toHaveLength(3);
    const keys = s.requests.flatMap((h) => h.split(', '));
    expect(keys).toHaveLength(n);
    expect(new Set(keys).size).toBe(n);
    expect(keys.every((k) => /^[0-9a-f-]{36}$/.test(k))).toBe(true);
    expect(new Set(answers.map((a) => a.id)).size).toBe(n);
    expect([...s.applied.values()].every((count) => count === 1)).toBe(true);
    expect(s.applied.size).toBe(n);
  });

  it('a lone keyed report still works, and a caller’s own key is sent alone as before', async () => {
    const s = await serve();
    const client = createCorbelClient<CountingRouter>({ url: s.url });
    await client.report.mutate({ city: 'lone', celsius: 1 });
    const own = await client.report.mutate(
      { city: 'own', celsius: 2 },
      { context: { idempotencyKey: 'a,b' } },
    );
    const again = await client.report.mutate(
      { city: 'own', celsius: 2 },
      { context: { idempotencyKey: 'a,b' } },
    );
    expect(again.id).toBe(own.id);
    expect(s.requests.slice(1)).toEqual(['a,b', 'a,b']);
    expect(s.applied.get('own')).toBe(1);
  });

  it('a batch cut off after the server ran some calls: the retry replays those, runs the rest, each applies once', {
    timeout: 30_000,
  }, async () => {
    const s = await serve();
    const p = await proxy(s.port);
    const client = createCorbelClient<CountingRouter>({ url: p.url });
    const cities = [
      ...Array.from({ length: 5 }, (_, i) => `fast${i}`),
      ...Array.from({ length: 5 }, (_, i) => `slow${i}`),
    ];
    const calls = Promise.all(cities.map((city, i) => client.report.mutate({ city, celsius: i })));
    // The fast calls ran (and were recorded) and the slow ones are running: cut the connection.
    await waitFor(
      'the fast calls to apply',
      () => cities.every((c) => s.started.has(c)) && s.applied.size === 5,
    );
    p.cutAll();
    s.gate.open = true;
    const answers = (await calls) as { id: string }[];

    // Two requests, the retry with the same key for each call, in the same order.
    expect(s.requests.length).toBe(2);
    expect(s.requests[1]).toBe(s.requests[0]);
    expect(s.requests[0]!.split(', ')).toHaveLength(cities.length);
    // Every call applied once: the fast ones were replayed, the slow ones (aborted by the cut) ran again.
    for (const city of cities) expect(s.applied.get(city)).toBe(1);
    expect(new Set(answers.map((a) => a.id)).size).toBe(cities.length);
    // Each answer is the id the hub gave that call's one event.
    expect(s.published.map((e) => e.city).sort()).toEqual([...cities].sort());
    for (const [i, city] of cities.entries()) {
      expect(s.published.find((e) => e.city === city)?.id).toBe(answers[i]!.id);
    }
  });

  it('a call of a batch still in flight elsewhere (207 with a 409 call): the batch goes again, the rest replayed', async () => {
    // A store that says one call's key is held elsewhere until the server's wait (100 ms) is over.
    const inner = createMemoryIdempotency();
    const busy = inputFingerprint({ city: 'busy', celsius: 1 });
    let heldUntil: number | undefined;
    const store: IdempotencyStore = {
      kind: inner.kind,
      ttlMs: inner.ttlMs,
      claim: (scope, fingerprint, leaseMs) => {
        if (fingerprint !== busy) return inner.claim(scope, fingerprint, leaseMs);
        heldUntil ??= Date.now() + 300;
        return Date.now() < heldUntil
          ? Promise.resolve({ state: 'pending' })
          : inner.claim(scope, fingerprint, leaseMs);
      },
      complete: (...args) => inner.complete(...args),
      release: (...args) => inner.release(...args),
    };
    const s = await serve({ store, waitMs: 100 });
    const client = createCorbelClient<CountingRouter>({ url: s.url });
    const answers = (await Promise.all([
      client.report.mutate({ city: 'a', celsius: 0 }),
      client.report.mutate({ city: 'busy', celsius: 1 }),
      client.report.mutate({ city: 'b', celsius: 2 }),
    ])) as { id: string }[];
    expect(s.requests).toHaveLength(2);
    expect(s.requests[1]).toBe(s.requests[0]);
    for (const city of ['a', 'busy', 'b']) expect(s.applied.get(city)).toBe(1);
    expect(new Set(answers.map((a) => a.id)).size).toBe(3);
  });
});
