/**
 * With `transport: 'sse'`, a first connect to an instance that accepts
 * connections and never answers (a frozen process: its kernel still
 * completes the handshake) hung for undici's 5-minute headers timeout: tRPC
 * runs its inactivity timer only after a `connected` frame, so nothing gave
 * up on the connect, nothing told the instance pool, and a client given a
 * second instance never tried it. Now a connect that gets no answer within
 * the connect timeout (`connectTimeoutMs`; by default the inactivity timeout
 * a server announced, else 25 s) is given up, counted against its instance,
 * and tried again: on the next instance when there is one.
 */
import { createCorbelClient } from '@corbel/client';
import { describe, expect, it } from 'vitest';
import { ticks, until } from '../foundation/fixture.js';
import { startTwoInstances } from './two-instances.js';

describe("transport 'sse': a first connect that is never answered", () => {
  it('is given up, and the stream starts on the next instance', async () => {
    // a is frozen from the start: connections are accepted, nothing comes back.
    await using two = await startTwoInstances({ plan: () => ({ kind: 'stall' }) });
    const { hub, a, b, proxy, bUrl } = two;
    const client = createCorbelClient<typeof two.router>({
      url: [proxy.url, bUrl],
      transport: 'sse',
      connectTimeoutMs: 500,
      maxReconnectDelayMs: 50,
    });
    const got: string[] = [];

    const sub = client.ticks.subscribe(undefined, { onData: ({ id }) => got.push(id) });
    try {
      await until(() => b.streamCount === 1, { what: 'the stream on b' });
      const { id } = await hub.publish(ticks, { n: 1, at: new Date() });
      await until(() => got.length === 1, { what: 'the event, from b', timeoutMs: 5000 });
      expect(got).toEqual([id]);
      // The one request a saw is the one given up: EventSource's retry went to b.
      expect(a.streamCount).toBeLessThanOrEqual(1);
    } finally {
      sub.unsubscribe();
    }
  });
});
