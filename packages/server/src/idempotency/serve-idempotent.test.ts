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
    return { ...fixture, url, post };
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

  it('a batch with a key, a malformed key and a repeated header are 400', async () => {
    const { url, post, runs } = await serve();
    const batch = await rawRequest(`${url}/rpc/add,add?batch=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'k' },
      body: JSON.stringify({ 0: { json: { a: 1, b: 1 } }, 1: { json: { a: 2, b: 2 } } }),
    });
    expect(batch.status).toBe(400);
    expect(errorShape(batch.json).message).toMatch(/unbatched/);
    expect((await post('add', { a: 1, b: 1 }, '')).status).toBe(400);
    expect((await post('add', { a: 1, b: 1 }, 'x'.repeat(256))).status).toBe(400);
    expect((await post('add', { a: 1, b: 1 }, 'has space')).status).toBe(400);
    expect(runs.add).toBe(0);
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
