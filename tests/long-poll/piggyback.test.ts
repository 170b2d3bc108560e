import { createTRPCClient, httpBatchLink } from '@trpc/client';
import superjson from 'superjson';
import { describe, expect, it } from 'vitest';
import { startTestService, type TestRouter, ticks } from '../foundation/fixture.js';

/** Calls the `publish` mutation over plain fetch with `headers`. */
async function publish(url: string, n: number, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/rpc/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(superjson.serialize({ n })),
  });
  const body = (await res.json()) as any;
  return { res, id: superjson.deserialize(body.result.data) as string };
}

const eventsOf = (res: Response) => {
  const header = res.headers.get('corbel-events');
  if (header === null) return null;
  const data = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
  return {
    ...data,
    events: data.events.map((e: any) => ({ id: e.id, n: (superjson.deserialize(e.data) as any).n })),
  };
};

describe('events piggybacked on commands (opt-in header)', () => {
  it("answers the subscription's pending events after the id, the command's own included", async () => {
    await using svc = await startTestService();
    const a = await svc.hub.publish(ticks, { n: 1, at: new Date() });
    const b = await svc.hub.publish(ticks, { n: 2, at: new Date() });
    const { res, id } = await publish(svc.url, 3, {
      'corbel-piggyback': 'ticks',
      'corbel-piggyback-last-event-id': a.id,
    });
    expect(res.status).toBe(200);
    expect(eventsOf(res)).toEqual({
      events: [
        { id: b.id, n: 2 },
        { id, n: 3 },
      ],
      lastEventId: id,
      more: false,
      done: false,
    });
    // The piggyback closed its subscription.
    expect(svc.hub.stats().subscribers).toBe(0);
  });

  it('applies the input filter and bounds the header (more: true)', async () => {
    await using svc = await startTestService();
    const first = await svc.hub.publish(ticks, { n: 0, at: new Date() });
    for (let n = 1; n <= 100; n++) await svc.hub.publish(ticks, { n, at: new Date() });
    const input = encodeURIComponent(JSON.stringify(superjson.serialize({ even: true })));
    const { res } = await publish(svc.url, 101, {
      'corbel-piggyback': 'ticks',
      'corbel-piggyback-input': input,
      'corbel-piggyback-last-event-id': first.id,
    });
    const data = eventsOf(res);
    expect(data.more).toBe(true);
    expect(data.events.length).toBeGreaterThan(0);
    expect(data.events.length).toBeLessThanOrEqual(32);
    expect(data.events.every((e: { n: number }) => e.n % 2 === 0)).toBe(true);
    expect(res.headers.get('corbel-events')!.length).toBeLessThan(8192);
  });

  it('names a refused piggyback in corbel-events-error and leaves the command alone', async () => {
    await using svc = await startTestService();
    const bad = await publish(svc.url, 1, {
      'corbel-piggyback': 'ticks',
      'corbel-piggyback-last-event-id': 'nope',
    });
    expect(bad.res.status).toBe(200);
    expect(bad.res.headers.get('corbel-events-error')).toBe('INVALID_EVENT_ID');
    const notSub = await publish(svc.url, 2, { 'corbel-piggyback': 'echo' });
    expect(notSub.res.headers.get('corbel-events-error')).toBe('BAD_REQUEST');
    expect(notSub.res.headers.get('corbel-events')).toBeNull();
  });

  it('changes nothing for a stock tRPC client (no header asked, none sent)', async () => {
    await using svc = await startTestService();
    const seen: (string | null)[] = [];
    const client = createTRPCClient<TestRouter>({
      links: [
        httpBatchLink({
          url: `${svc.url}/rpc`,
          transformer: superjson,
          fetch: async (input, init) => {
            const res = await fetch(input as string, init as RequestInit);
            seen.push(res.headers.get('corbel-events'));
            return res;
          },
        }),
      ],
    });
    expect(await client.add.mutate({ a: 1, b: 2 })).toBe(3);
    expect(seen).toEqual([null]);
  });
});
