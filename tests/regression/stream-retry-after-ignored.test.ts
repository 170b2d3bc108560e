/**
 * Issue 16: a stream refused with 429 LIMIT_EXCEEDED and `Retry-After: 5`
 * (too many open streams) was retried after the client's own backoff (250 ms
 * and up; here at most 50 ms), hammering the server that had asked it to wait
 * (protocol.md section 6.4: "wait at least that long"). The Retry-After only
 * reached EventSource's `retry:`, which tRPC uses for 5xx alone; a 429 is
 * retried by the retry link, which never saw it. Now the refusal carries it
 * (`retryAfterMs` in the error's data) and the retry link waits at least that
 * long (reconnectDelayMs); long polls do the same.
 */
import { createCorbelClient } from '@corbel/client';
import { describe, expect, it } from 'vitest';
import { recordingFetch, startTestService, type TestRouter, until } from '../foundation/fixture.js';

describe("a stream refusal's Retry-After is waited out", () => {
  it('does not reconnect before the Retry-After of a 429 LIMIT_EXCEEDED', async () => {
    await using svc = await startTestService({ server: { limits: { maxStreamsPerIdentity: 1 } } });
    const { server, url } = svc;
    const { fetch: recording, attempts } = recordingFetch('/rpc/ticks');
    const client = createCorbelClient<TestRouter>({
      url,
      fetch: recording,
      transport: 'sse',
      maxReconnectDelayMs: 50,
    });
    const errors: string[] = [];
    const first = client.ticks.subscribe(undefined, { onData: () => {} });
    try {
      await until(() => server.streamCount === 1, { what: 'the first stream', timeoutMs: 5000 });
      const second = client.ticks.subscribe(undefined, {
        onData: () => {},
        onError: (e) => errors.push(e.message),
      });
      try {
        await until(() => attempts.length >= 2, {
          what: "the second stream's first attempt",
          timeoutMs: 5000,
        });
        // The server asked for 5 s: within 1.5 s there is no second attempt (there were ~20 before).
        await new Promise((resolve) => setTimeout(resolve, 1500));
        expect(attempts).toHaveLength(2);
        expect(errors).toEqual([]);
      } finally {
        second.unsubscribe();
      }
    } finally {
      first.unsubscribe();
    }
  });
});
