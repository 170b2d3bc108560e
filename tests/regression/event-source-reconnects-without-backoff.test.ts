/**
 * Issue 16: when a stream that had connected dropped and its server stayed
 * down, the client reconnected every `retry:` ms (the server's sseRetryMs)
 * forever: EventSource retries a failed connect by itself, so the retry link
 * and its backoff with jitter never saw the failures (retry-policy.ts promises
 * "forever with backoff"; protocol.md section 12: "back off on repeated
 * failures"). With `retry: 50`, 49 attempts in 3 s; every client in lockstep.
 * Now each EventSource's fetch backs off between failed connects
 * (backingOffFetch in event-source-fetch.ts).
 */
import { createCorbelClient } from '@corbel/client';
import { describe, expect, it } from 'vitest';
import { recordingFetch, startTestService, type TestRouter, until } from '../foundation/fixture.js';

describe('reconnects to a server that stays down back off', () => {
  it('makes a handful of attempts in 1.5 s, not one every retry: interval', async () => {
    await using svc = await startTestService({ server: { sseRetryMs: 50 } });
    const { server, url } = svc;
    const { fetch: recording, attempts } = recordingFetch('/rpc/ticks');
    const client = createCorbelClient<TestRouter>({
      url,
      fetch: recording,
      transport: 'sse',
    });
    const sub = client.ticks.subscribe(undefined, { onData: () => {}, onError: () => {} });
    try {
      await until(() => server.streamCount === 1, { what: 'the stream', timeoutMs: 5000 });
      await server.close();
      const closedAt = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      // Backoff from 250 ms doubling (jitter in the upper half): at most 5 attempts in 1.5 s
      // after the drop, where a fixed 50 ms retry made about 25.
      expect(attempts.filter((t) => t >= closedAt).length).toBeLessThanOrEqual(5);
    } finally {
      sub.unsubscribe();
    }
  });
});
