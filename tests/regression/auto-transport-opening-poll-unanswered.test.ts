/**
 * Issue 18: with `transport: 'auto'`, a subscription without an id first
 * sends one long poll that does not wait (for the channel's newest id), and
 * only then opens its event stream. That poll had no bound of its own: one
 * that was never answered (dropped by a proxy, a server that accepted and
 * stalled) kept the subscription from ever starting, and no held-back clock
 * ran because no stream existed yet. Now it is bounded by `heldBackMs`, after
 * which the stream starts without it.
 */
import { createCorbelClient, type StateChange } from '@corbel/client';
import { describe, expect, it } from 'vitest';
import { startTestService, type TestRouter, ticks, until } from '../foundation/fixture.js';

describe("transport 'auto': an opening poll that is never answered", () => {
  it('does not keep the stream from starting', async () => {
    await using svc = await startTestService();
    let held = 0;
    // The opening poll (no id, no wait) goes nowhere; it ends only when aborted.
    const fetchFn: typeof fetch = (url, init) => {
      if (String(url).includes('longPoll=1&wait=0') && !String(url).includes('lastEventId=')) {
        held++;
        return new Promise((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
        });
      }
      return fetch(url, init);
    };
    const states: StateChange[] = [];
    const client = createCorbelClient<TestRouter>({
      url: svc.url,
      heldBackMs: 500,
      fetch: fetchFn,
      onStateChange: (s) => states.push(s),
    });
    const ids: string[] = [];
    const sub = client.ticks.subscribe({}, { onData: ({ id }) => ids.push(id) });
    await until(() => states.some((s) => s.state === 'live' && s.transport === 'sse'), {
      what: 'live on sse',
      timeoutMs: 5000,
    });
    expect(held).toBe(1);
    const { id } = await svc.hub.publish(ticks, { n: 1, at: new Date() });
    await until(() => ids.length === 1, { what: 'the event', timeoutMs: 5000 });
    expect(ids).toEqual([id]);
    sub.unsubscribe();
  });
});
