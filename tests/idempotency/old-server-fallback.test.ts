import { createCorbelClient } from '@corbel/client';
import { initCorbel } from '@corbel/core';
import { createCorbelServer } from '@corbel/server';
import { expect, it } from 'vitest';
import { z } from 'zod';

/** What a server from before batched keys answered a batch that carried Idempotency-Key. */
const OLD_REFUSAL = JSON.stringify({
  error: {
    json: {
      message: 'Idempotency-Key applies to one mutation: send keyed mutations unbatched',
      code: -32600,
      data: { code: 'BAD_REQUEST', httpStatus: 400, corbelCode: 'BAD_REQUEST', retryable: false },
    },
  },
});

it('against a server that refuses keyed batches, the client sends the calls one by one, each once', async () => {
  const applied = new Map<number, number>();
  const t = initCorbel();
  const router = t.router({
    report: t.procedure.input(z.object({ n: z.number() })).mutation(({ input }) => {
      applied.set(input.n, (applied.get(input.n) ?? 0) + 1);
      return { n: input.n };
    }),
  });
  await using server = createCorbelServer({ router });
  const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
  // The real server behind a fetch that answers keyed batches as an older server did.
  const seen: string[] = [];
  const oldServer: typeof fetch = async (input, init) => {
    const target = String(input instanceof Request ? input.url : input);
    const keyed = new Headers(init?.headers).get('idempotency-key');
    const batched = target.includes('batch=1');
    seen.push(`${batched ? 'batch' : 'one'} ${keyed}`);
    if (batched && keyed !== null) {
      return new Response(OLD_REFUSAL, { status: 400, headers: { 'content-type': 'application/json' } });
    }
    return fetch(input, init);
  };
  const client = createCorbelClient<typeof router>({ url, fetch: oldServer });
  const first = await Promise.all([1, 2, 3].map((n) => client.report.mutate({ n })));
  expect(first).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  // One refused batch, then each call alone with its own key from that batch.
  expect(seen).toHaveLength(4);
  const keys = seen[0]!.slice('batch '.length).split(', ');
  expect(keys).toHaveLength(3);
  expect(seen.slice(1).sort()).toEqual(keys.map((k) => `one ${k}`).sort());
  // The client remembers: the next burst goes one by one straight away.
  await Promise.all([4, 5].map((n) => client.report.mutate({ n })));
  expect(seen.slice(4).every((s) => s.startsWith('one '))).toBe(true);
  expect(seen).toHaveLength(6);
  expect([...applied.values()].every((count) => count === 1)).toBe(true);
  expect(applied.size).toBe(5);
});
