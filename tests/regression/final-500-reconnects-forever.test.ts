/**
 * A subscription whose procedure failed mid-stream with an error the server
 * marks final (a plain 500, `data.retryable: false`) was reconnected
 * forever: tRPC's event-stream link reconnects by itself after every error
 * frame whose JSON-RPC code is -32603, which is every 5xx, and the client's
 * retry policy (never consulted) went by its own list of final codes, which
 * did not have INTERNAL_SERVER_ERROR either. Now the client honours the
 * server's `retryable`: a final error ends the subscription with that error,
 * a retryable one reconnects.
 */
import { createCorbelClient } from '@corbel/client';
import { initCorbel } from '@corbel/core';
import { createCorbelServer } from '@corbel/server';
import { tracked } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { until } from '../foundation/fixture.js';

describe('a final 500 in the middle of a stream', () => {
  it('ends the subscription with that error, on either transport, instead of reconnecting', async () => {
    const t = initCorbel();
    let runs = 0;
    const router = t.router({
      broken: t.procedure
        .input(z.object({ lastEventId: z.string().optional() }).optional())
        .subscription(async function* () {
          runs++;
          yield tracked(`x-${runs}`, { n: runs });
          await new Promise((resolve) => setTimeout(resolve, 50));
          throw new Error('the procedure broke');
        }),
    });
    const server = createCorbelServer({ router, sseRetryMs: 50 });
    const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
    try {
      for (const transport of ['sse', 'auto'] as const) {
        runs = 0;
        const client = createCorbelClient<typeof router>({ url, transport, maxReconnectDelayMs: 50 });
        const ids: string[] = [];
        let error: any;
        // With an id, so the auto transport sends no opening poll (which would run the procedure too).
        const sub = client.broken.subscribe(
          { lastEventId: 'x-0' },
          {
            onData: ({ id }) => ids.push(id),
            onError: (e) => {
              error = e;
            },
          },
        );
        try {
          await until(() => error !== undefined || runs > 3, {
            what: `the error (${transport})`,
            timeoutMs: 5000,
          });
          expect(error?.data).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', retryable: false });
          await new Promise((resolve) => setTimeout(resolve, 300));
          expect(ids).toEqual(['x-1']);
          expect(runs).toBe(1);
        } finally {
          sub.unsubscribe();
        }
      }
    } finally {
      await server.close();
    }
  });
});
