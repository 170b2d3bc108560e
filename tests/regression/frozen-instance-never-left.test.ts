/**
 * Issue 16: a client given several server URLs never left an instance that
 * froze (a stopped process, whose kernel still accepts connections). Its
 * stream stalled, the inactivity timer reconnected it, the reconnect was
 * accepted and never answered, the timer abandoned it, and the next attempt
 * went to the same instance again: the pool was told only of refused
 * connections and 502-504 answers, never of an attempt abandoned unanswered
 * (26 attempts on the frozen instance in 8 s, none on the next). Now an
 * event-stream or poll request abandoned before any answer counts against its
 * instance (failoverFetch's `abandonIsFailure`), and the stream resumes on
 * the next instance by its last id.
 */
import { createCorbelClient } from '@corbel/client';
import { describe, expect, it } from 'vitest';
import { ticks, until } from '../foundation/fixture.js';
import { startTwoInstances } from './two-instances.js';

describe('a frozen instance is left for the next one', () => {
  it('resumes on the next instance, exactly after the last id, when its instance stops answering', async () => {
    // Short timers so the stall is noticed within half a second.
    await using two = await startTwoInstances({
      init: { pingIntervalMs: 100, reconnectAfterInactivityMs: 500 },
    });
    const { hub, a, b, proxy, bUrl } = two;
    const client = createCorbelClient<typeof two.router>({
      url: [proxy.url, bUrl],
      transport: 'sse',
      maxReconnectDelayMs: 50,
    });
    const got: string[] = [];
    const sub = client.ticks.subscribe(undefined, { onData: ({ id }) => got.push(id) });
    try {
      await until(() => a.streamCount === 1, { what: 'the stream on a', timeoutMs: 5000 });
      const first = (await hub.publish(ticks, { n: 1, at: new Date() })).id;
      await until(() => got.length === 1, { what: 'the first event', timeoutMs: 5000 });
      // a freezes: nothing it sends arrives any more, new connections are accepted and never answered.
      proxy.setPlan(() => ({ kind: 'stall' }));
      proxy.stallFor(60_000);
      const second = (await hub.publish(ticks, { n: 2, at: new Date() })).id;
      await until(() => got.length === 2, { what: 'the second event, from b', timeoutMs: 8000 });
      expect(got).toEqual([first, second]);
      expect(b.streamCount).toBe(1);
    } finally {
      sub.unsubscribe();
    }
  });
});
