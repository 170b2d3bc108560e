import { CorbelError, createMemoryIdempotency, initCorbel } from '@corbel/core';
import { errorShape, mutationBody, rawRequest, resultData } from '@corbel/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { staticTokenAuth } from '../auth/index.js';
import { type CorbelServer, type CorbelServerOptions, createCorbelServer } from '../server.js';

/** A router that counts how often each mutation really ran. */
function countingRouter() {
  const runs = { add: 0, slow: 0, flaky: 0, fails: 0 };
  let release: (() => void) | undefined;
  const t = initCorbel();
  const router = t.router({
    add: t.procedure.input(z.object({ a: z.number(), b: z.number() })).mutation(({ input }) => {
      runs.add++;
      return { sum: input.a + input.b, run: runs.add, at: new Date(runs.add) };
    }),
    slow: t.procedure.input(z.object({ n: z.number() })).mutation(async () => {
      runs.slow++;
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return { run: runs.slow };
    }),
    flaky: t.procedure.mutation(() => {
      runs.flaky++;
      if (runs.flaky === 1) throw new CorbelError('STORE_UNAVAILABLE', 'try again');
      return { run: runs.flaky };
    }),
    fails: t.procedure.mutation(() => {
      runs.fails++;
      throw new CorbelError('FORBIDDEN', `no (run ${runs.fails})`);
    }),
    read: t.procedure.query(() => 'ok'),
  });
  return { router, runs, release: () => release?.() };
}

describe('Idempotency-Key on mutations', () => {
  const servers: CorbelServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });
  const serve = async (extra: Partial<CorbelServerOptions<any>> = {}) => {
    const fixture = countingRouter();
    const server = createCorbelServer({ router: fixture.router, ...extra });
    servers.push(server);
    const { url } = await server.listen({ port: 0 });
    const post = (path: string, input: unknown, key?: string, headers: Record<string, string> = {}) =>
      rawRequest(`${url}/rpc/${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(key === undefined ? {} : { 'idempotency-key': key }),
          ...headers,
        },
        ...(input === undefined ? {} : { body: mutationBody(input) }),
      });
    const batch = (paths: string[], inputs: unknown[], keys: string) =>
      rawRequest(`${url}/rpc/${paths.join(',')}?batch=1`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': keys },
        body: JSON.stringify(
          Object.fromEntries(inputs.map((input, i) => [i, JSON.parse(mutationBody(input))])),
        ),
      });
    return { ...fixture, url, post, batch };
  };

  it('a repeat gets the recorded response byte for byte and the procedure runs once', async () => {
    const { post, runs } = await serve();
    const first = await post('add', { a: 1, b: 2 }, 'key-1');
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await post('add', { b: 2, a: 1 }, 'key-1');
    expect(again.status).toBe(200);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(runs.add).toBe(1);
    expect(resultData(again.json)).toEqual({ sum: 3, run: 1, at: new Date(1) });
    // Another key is another call; no key is never deduplicated.
    await post('add', { a: 1, b: 2 }, 'key-2');
    await post('add', { a: 1, b: 2 });
    await post('add', { a: 1, b: 2 });
    expect(runs.add).toBe(4);
  });

  it('the same key with another input is 422 IDEMPOTENCY_KEY_REUSED, and runs nothing', async () => {
    const { post, runs } = await serve();
    expect((await post('add', { a: 1, b: 2 }, 'k')).status).toBe(200);
    const other = await post('add', { a: 1, b: 3 }, 'k');
    expect(other.status).toBe(422);
    expect(errorShape(other.json).data).toMatchObject({
      corbelCode: 'IDEMPOTENCY_KEY_REUSED',
      retryable: false,
    });
    expect(runs.add).toBe(1);
  });

  it('keys are per procedure and per identity', async () => {
    const { url, runs } = await serve({ authenticate: staticTokenAuth({ tokens: ['alice', 'bob'] }) });
    const post = (token: string) =>
      rawRequest(`${url}/rpc/add`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': 'same',
          authorization: `Bearer ${token}`,
        },
        body: mutationBody({ a: 1, b: 1 }),
      });
    const a = await post('alice');
    const b = await post('bob');
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(runs.add).toBe(2);
    expect((await post('alice')).text).toBe(a.text);
    expect(runs.add).toBe(2);
  });

  it('repeats while the first is still running wait for it and get its answer', async () => {
    const { post, runs, release } = await serve();
    const first = post('slow', { n: 1 }, 'k');
    await new Promise((r) => setTimeout(r, 100));
    const repeats = [post('slow', { n: 1 }, 'k'), post('slow', { n: 1 }, 'k')];
    await new Promise((r) => setTimeout(r, 100));
    expect(runs.slow).toBe(1);
    release();
    const answers = await Promise.all([first, ...repeats]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(new Set(answers.map((a) => a.text)).size).toBe(1);
    expect(runs.slow).toBe(1);
  });

  it('a repeat that outwaits `waitMs` gets 409 IDEMPOTENCY_IN_FLIGHT (retryable)', async () => {
    const store = createMemoryIdempotency();
    const { post, release } = await serve({ idempotency: { store, waitMs: 200 } });
    const first = post('slow', { n: 1 }, 'k');
    await new Promise((r) => setTimeout(r, 50));
    const repeat = await post('slow', { n: 1 }, 'k');
    expect(repeat.status).toBe(409);
    expect(errorShape(repeat.json).data).toMatchObject({
      corbelCode: 'IDEMPOTENCY_IN_FLIGHT',
      retryable: true,
    });
    release();
    expect((await first).status).toBe(200);
  });

  it('a pending record of another instance is waited for through the shared store', async () => {
    const store = createMemoryIdempotency();
    const a = await serve({ idempotency: store });
    const b = await serve({ idempotency: store });
    const first = a.post('slow', { n: 1 }, 'k');
    await new Promise((r) => setTimeout(r, 100));
    const repeat = b.post('slow', { n: 1 }, 'k');
    await new Promise((r) => setTimeout(r, 100));
    a.release();
    const [one, two] = await Promise.all([first, repeat]);
    expect(two.text).toBe(one.text);
    expect(a.runs.slow + b.runs.slow).toBe(1);
  });

  it('a retryable failure is not recorded: the retry runs again', async () => {
    const { post, runs } = await serve();
    expect((await post('flaky', undefined, 'k')).status).toBe(503);
    const retry = await post('flaky', undefined, 'k');
    expect(retry.status).toBe(200);
    expect(runs.flaky).toBe(2);
  });

  it('a final error is recorded and replayed like a result', async () => {
    const { post, runs } = await serve();
    const first = await post('fails', undefined, 'k');
    expect(first.status).toBe(403);
    const again = await post('fails', undefined, 'k');
    expect(again.text).toBe(first.text);
    expect(runs.fails).toBe(1);
  });

  it('a malformed key and a malformed key list are 400 BAD_REQUEST, and run nothing', async () => {
    const { post, batch, runs } = await serve();
    expect((await post('add', { a: 1, b: 1 }, '')).status).toBe(400);
    expect((await post('add', { a: 1, b: 1 }, 'x'.repeat(256))).status).toBe(400);
    expect((await post('add', { a: 1, b: 1 }, 'has space')).status).toBe(400);
    const two = [
      { a: 1, b: 1 },
      { a: 2, b: 2 },
    ];
    for (const [keys, message] of [
      ['k', /batch of 2 calls needs 2 keys/],
      ['k0,k1,k2', /needs 2 keys.*has 3/],
      ['k0,', /call 1 is empty/],
      ['k0,k 1', /call 1 must be/],
      ['k0,k0', /calls 0 and 1 have the same key/],
      [`k0,${'x'.repeat(2000)}`, /too long/],
    ] as const) {
      const refused = await batch(['add', 'add'], two, keys);
      expect(refused.status).toBe(400);
      expect(errorShape(refused.json).data).toMatchObject({ corbelCode: 'BAD_REQUEST', retryable: false });
      expect(errorShape(refused.json).message).toMatch(message);
    }
    expect(runs.add).toBe(0);
  });

  it('a batch with one key per call: each call runs once, a repeated batch replays them all', async () => {
    const { batch, runs } = await serve();
    const inputs = [
      { a: 1, b: 2 },
      { a: 3, b: 4 },
      { a: 5, b: 6 },
    ];
    const first = await batch(['add', 'add', 'add'], inputs, 'b0, b1, b2');
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect((first.json as unknown[]).map((r) => (resultData(r) as { sum: number }).sum)).toEqual([3, 7, 11]);
    expect(runs.add).toBe(3);
    const again = await batch(['add', 'add', 'add'], inputs, 'b0,b1,b2');
    expect(again.status).toBe(200);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true, true, true');
    expect(runs.add).toBe(3);
  });

  it('a retried batch replays the calls that finished and runs the rest', async () => {
    const { post, batch, runs } = await serve();
    // The first call was answered alone (an older client, or the first attempt of a failover).
    const alone = await post('add', { a: 1, b: 1 }, 'p0');
    expect(runs.add).toBe(1);
    const retried = await batch(
      ['add', 'add'],
      [
        { a: 1, b: 1 },
        { a: 2, b: 2 },
      ],
      'p0, p1',
    );
    expect(retried.status).toBe(200);
    expect(retried.headers.get('idempotent-replayed')).toBe('true, false');
    const [zero, one] = retried.json as unknown[];
    // The same record answers the call alone and in a batch, byte for byte.
    expect(JSON.stringify(zero)).toBe(alone.text);
    expect(resultData(one)).toMatchObject({ sum: 4, run: 2 });
    expect(runs.add).toBe(2);
    // And a call recorded in a batch is replayed when it comes alone.
    const single = await post('add', { a: 2, b: 2 }, 'p1');
    expect(single.headers.get('idempotent-replayed')).toBe('true');
    expect(single.text).toBe(JSON.stringify(one));
    expect(runs.add).toBe(2);
  });

  it('in a batch, a reused key or a key in flight answers that call only (207)', async () => {
    const store = createMemoryIdempotency();
    const { post, batch, runs, release } = await serve({ idempotency: { store, waitMs: 200 } });
    expect((await post('add', { a: 1, b: 1 }, 'used')).status).toBe(200);
    const reused = await batch(
      ['add', 'add'],
      [
        { a: 9, b: 9 },
        { a: 2, b: 2 },
      ],
      'used, fresh',
    );
    expect(reused.status).toBe(207);
    const [refusedCall, ranCall] = reused.json as unknown[];
    expect(errorShape(refusedCall).data).toMatchObject({
      corbelCode: 'IDEMPOTENCY_KEY_REUSED',
      httpStatus: 422,
    });
    expect(resultData(ranCall)).toMatchObject({ sum: 4 });
    expect(runs.add).toBe(2);

    const slow = post('slow', { n: 1 }, 'busy');
    await new Promise((r) => setTimeout(r, 50));
    const inFlight = await batch(['slow', 'add'], [{ n: 1 }, { a: 3, b: 3 }], 'busy, other');
    expect(inFlight.status).toBe(207);
    expect(inFlight.headers.get('retry-after')).toBe('1');
    const [waited, ran] = inFlight.json as unknown[];
    expect(errorShape(waited).data).toMatchObject({ corbelCode: 'IDEMPOTENCY_IN_FLIGHT', retryable: true });
    expect(resultData(ran)).toMatchObject({ sum: 6 });
    release();
    expect((await slow).status).toBe(200);
    expect(runs.slow).toBe(1);
    expect(runs.add).toBe(3);
  });

  it('the largest batch with the longest keys is served (within the default header limit)', async () => {
    const { batch, runs } = await serve();
    const n = 50;
    const keys = Array.from({ length: n }, (_, i) => `${i}-`.padEnd(255, 'k'));
    const inputs = Array.from({ length: n }, (_, i) => ({ a: i, b: 0 }));
    const res = await batch(Array(n).fill('add'), inputs, keys.join(','));
    expect(res.status).toBe(200);
    expect(runs.add).toBe(n);
    const again = await batch(Array(n).fill('add'), inputs, keys.join(','));
    expect(again.text).toBe(res.text);
    expect(runs.add).toBe(n);
  });

  it('bad input with a key is answered as without one, and does not hold the key', async () => {
    const { post, runs } = await serve();
    const bad = await post('add', { a: 'x', b: 1 }, 'k');
    expect(bad.status).toBe(400);
    expect((await post('add', { a: 1, b: 1 }, 'k2')).status).toBe(200);
    const notJson = await rawRequest(`${(await serve()).url}/rpc/add`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'k3' },
      body: '{',
    });
    expect(notJson.status).toBe(400);
    expect(runs.add).toBe(1);
  });

  it('queries ignore the header; `idempotency: false` ignores it on mutations', async () => {
    const { url } = await serve();
    const q = await rawRequest(`${url}/rpc/read`, { headers: { 'idempotency-key': 'k' } });
    expect(q.status).toBe(200);
    const off = await serve({ idempotency: false });
    await off.post('add', { a: 1, b: 1 }, 'k');
    await off.post('add', { a: 1, b: 1 }, 'k');
    expect(off.runs.add).toBe(2);
  });
});
