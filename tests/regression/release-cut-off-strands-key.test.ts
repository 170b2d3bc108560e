/**
 * Issue 19, found by the station-to-Redis fault schedules: a keyed mutation
 * that failed because the store was unreachable (503 STORE_UNAVAILABLE)
 * gave its key back with one `release`, which failed for the same reason;
 * the key then stayed pending for its whole lease (60 s), and every retry
 * waited 10 s for 409 IDEMPOTENCY_IN_FLIGHT until the lease lapsed. Now a
 * failed release is tried again in the background, so the retry runs as
 * soon as the store answers again.
 */
import { randomUUID } from 'node:crypto';
import { CorbelError, createMemoryIdempotency, type IdempotencyStore, initCorbel } from '@corbel/core';
import { createCorbelServer } from '@corbel/server';
import { mutationBody, rawRequest, resultData } from '@corbel/testing';
import { expect, it } from 'vitest';
import { z } from 'zod';

it('a key whose release was cut off comes free as soon as the store answers again', {
  timeout: 30_000,
}, async () => {
  const inner = createMemoryIdempotency();
  let failReleases = 1;
  const store: IdempotencyStore = {
    kind: inner.kind,
    ttlMs: inner.ttlMs,
    claim: (...args) => inner.claim(...args),
    complete: (...args) => inner.complete(...args),
    release: (...args) =>
      failReleases-- > 0
        ? Promise.reject(new CorbelError('STORE_UNAVAILABLE', 'Redis is unavailable'))
        : inner.release(...args),
  };
  let runs = 0;
  const t = initCorbel();
  const router = t.router({
    report: t.procedure.input(z.object({ n: z.number() })).mutation(({ input }) => {
      runs++;
      if (runs === 1) throw new CorbelError('STORE_UNAVAILABLE', 'Redis is unavailable');
      return { n: input.n, run: runs };
    }),
  });
  await using server = createCorbelServer({ router, idempotency: { store, leaseMs: 60_000 } });
  const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
  const key = randomUUID();
  const post = () =>
    rawRequest(`${url}/rpc/report`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: mutationBody({ n: 1 }),
    });
  expect((await post()).status).toBe(503);
  const started = Date.now();
  const retry = await post();
  expect(retry.status).toBe(200);
  expect(resultData(retry.json)).toEqual({ n: 1, run: 2 });
  // Without the background release: 409 after the 10 s wait, for the whole 60 s lease.
  expect(Date.now() - started).toBeLessThan(3000);
});
