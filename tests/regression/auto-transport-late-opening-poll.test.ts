/**
 * With `transport: 'auto'`, a subscription without an id first asks for the
 * channel's newest id (a poll that does not wait): that id is where it
 * starts. The poll was bounded by `heldBackMs`; when its answer came later
 * (a loaded server, a slow proxy) it was thrown away, the stream started
 * without an id, and when a proxy held that stream back the long polls that
 * took over started from the newest id of their own first answer: every
 * event published while the stream was held back was lost (a 400 ms answer
 * with `heldBackMs` 300: e-2 and e-3 lost, only e-4 arrived). Now the opening
 * poll is not given up, and a transport that started without its answer,
 * having delivered nothing, starts again from it.
 */
import { createCorbelClient, type StateChange } from '@corbel/client';
import { describe, expect, it } from 'vitest';
import { startTestService, type TestRouter, ticks, until } from '../foundation/fixture.js';

const isOpeningPoll = (url: string) => url.includes('longPoll=1&wait=0') && !url.includes('lastEventId=');

describe("transport 'auto': an opening poll answered late", () => {
  it('loses none of the events a held-back stream was sent', async () => {
    await using svc = await startTestService();
    const first = (await svc.hub.publish(ticks, { n: 1, at: new Date() })).id;
    let openingPolls = 0;
    let streams = 0;
    const fetchFn: typeof fetch = async (url, init) => {
      const headers = new Headers(init?.headers);
      if (headers.get('accept')?.includes('text/event-stream')) {
        // A proxy that holds every stream back: not even the headers arrive.
        streams++;
        return new Promise((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
        });
      }
      if (isOpeningPoll(String(url)) && openingPolls++ === 0) {
        // Answered by the server at once, delivered 400 ms later.
        const res = await fetch(url, init);
        await new Promise((resolve) => setTimeout(resolve, 400));
        return res;
      }
      return fetch(url, init);
    };
    const states: StateChange[] = [];
    const client = createCorbelClient<TestRouter>({
      url: svc.url,
      fetch: fetchFn,
      heldBackMs: 300,
      longPollWaitMs: 200,
      maxReconnectDelayMs: 50,
      onStateChange: (s) => states.push(s),
    });
    const ids: string[] = [];
    const sub = client.ticks.subscribe({}, { onData: ({ id }) => ids.push(id) });
    try {
      await until(() => streams === 1, { what: 'the stream attempt', timeoutMs: 5000 });
      // Published while the stream is held back, before any poll has been answered.
      const sent = [
        (await svc.hub.publish(ticks, { n: 2, at: new Date() })).id,
        (await svc.hub.publish(ticks, { n: 3, at: new Date() })).id,
      ];
      await until(() => states.some((s) => s.state === 'live' && s.transport === 'long-poll'), {
        what: 'live on polls',
        timeoutMs: 5000,
      });
      sent.push((await svc.hub.publish(ticks, { n: 4, at: new Date() })).id);
      await until(() => ids.length >= 3, { what: 'three events', timeoutMs: 5000 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(ids).toEqual(sent);
      expect(ids).not.toContain(first);
    } finally {
      sub.unsubscribe();
    }
  });
});
