import { request } from 'node:http';
import {
  createHub,
  DELIVERY_POLICIES,
  type DeliveryPolicy,
  defineChannel,
  initCorbel,
  parseDeliveryId,
} from '@corbel/core';
import { createCorbelMetrics, createCorbelServer } from '@corbel/server';
import { queryInput, until } from '@corbel/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const ticks = defineChannel(
  'test.ticks',
  z.object({ city: z.string(), n: z.number().int(), pad: z.string() }),
);
const PAD = 'x'.repeat(4000);
const CITIES = ['Oslo', 'Lima', 'Pune', 'Kiev'];
// ~20 MB of frames: far more than the kernel and the server will buffer for a reader that has stopped.
const BURST = 5000;

/** A server whose subscribers have a queue bound of 64 events, with metrics. */
async function serve() {
  const metrics = createCorbelMetrics({ processMetrics: false });
  const hub = createHub({ maxQueue: 64, hooks: metrics.hubHooks });
  const t = initCorbel();
  const router = t.router({
    ticks: t.procedure
      .input(
        z
          .object({
            lastEventId: z.string().optional(),
            policy: z.enum(DELIVERY_POLICIES as [DeliveryPolicy, ...DeliveryPolicy[]]).optional(),
          })
          .optional(),
      )
      .subscription(({ input, signal }) =>
        hub.subscribe(ticks, {
          after: input?.lastEventId,
          signal,
          policy: input?.policy,
          key: (p) => p.city,
        }),
      ),
  });
  const server = createCorbelServer({ router, metrics });
  const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
  const close = async () => {
    await server.close();
    await hub.close();
  };
  return { url, hub, metrics, close };
}

interface Frame {
  event: string;
  id: string | undefined;
  data: string;
}

/** Opens a stream and stops reading it at once: a subscriber that has fallen behind. */
function openStalled(url: string, policy: DeliveryPolicy) {
  const frames: Frame[] = [];
  let ended = false;
  let resume!: () => void;
  const opened = new Promise<void>((resolve, reject) => {
    const req = request(
      `${url}/rpc/ticks?${queryInput({ policy })}`,
      { headers: { accept: 'text/event-stream' } },
      (res) => {
        res.pause();
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          buffer += chunk;
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const lines = buffer.slice(0, end).split('\n');
            buffer = buffer.slice(end + 2);
            const field = (name: string) =>
              lines.find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
            const data = field('data');
            if (data !== undefined)
              frames.push({ event: field('event') ?? 'message', id: field('id'), data });
          }
        });
        res.on('end', () => {
          ended = true;
        });
        resume = () => res.resume();
        resolve();
      },
    );
    req.on('error', reject);
    req.end();
  });
  return { opened, frames, ended: () => ended, resume: () => resume() };
}

async function fallBehind(policy: DeliveryPolicy) {
  const service = await serve();
  try {
    const sub = openStalled(service.url, policy);
    await sub.opened;
    await until(() => service.hub.stats().subscribers === 1, { what: 'the subscriber', timeoutMs: 20_000 });
    for (let n = 1; n <= BURST; n++) await service.hub.publish(ticks, { city: CITIES[n % 4]!, n, pad: PAD });
    sub.resume();
    const data = () => sub.frames.filter((f) => f.event === 'message');
    // Once it has caught up, one more event tells it the final drop count.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    if (policy !== 'cut-and-resume') {
      await service.hub.publish(ticks, { city: 'Marker', n: BURST + 1, pad: '' });
      await until(() => data().some((f) => f.data.includes('"Marker"')), {
        what: 'the marker event',
        timeoutMs: 20_000,
      });
    } else {
      await until(() => sub.ended() || sub.frames.some((f) => f.event === 'serialized-error'), {
        what: 'the cut-off',
        timeoutMs: 20_000,
      });
    }
    const ns = data().map((f) => (JSON.parse(f.data) as { json: { n: number } }).json.n);
    const told = Math.max(0, ...data().map((f) => parseDeliveryId(f.id ?? '').dropped));
    const metric = (await service.metrics.registry.getMetricsAsJSON()).find(
      (m) => m.name === 'corbel_events_dropped_total',
    );
    const counted = (metric?.values ?? [])
      .filter((v) => v.labels.policy === policy)
      .reduce((sum, v) => sum + v.value, 0);
    return { ns, told, counted, frames: sub.frames };
  } finally {
    await service.close();
  }
}

describe('delivery policies under a subscriber that stops reading (real sockets, queue bound 64)', () => {
  it('cut-and-resume (the default) cuts it off with SLOW_CONSUMER and drops nothing', async () => {
    const { frames, counted, ns } = await fallBehind('cut-and-resume');
    expect(frames.some((f) => f.event === 'serialized-error' && f.data.includes('SLOW_CONSUMER'))).toBe(true);
    expect(counted).toBe(0);
    expect(ns).toEqual(ns.map((_, i) => i + 1));
  });

  it.each(['drop-oldest', 'drop-newest'] as const)(
    '%s drops events, says how many on the next event, and counts them in metrics',
    async (policy) => {
      const { ns, told, counted } = await fallBehind(policy);
      expect(told).toBeGreaterThan(0);
      expect(ns.length - 1 + told).toBe(BURST);
      expect(counted).toBe(told);
      expect(ns).toEqual([...ns].sort((a, b) => a - b));
      const burst = ns.filter((n) => n <= BURST);
      if (policy === 'drop-oldest') expect(burst.at(-1)).toBe(BURST);
      else expect(burst.slice(0, 10)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    },
  );

  it('latest-per-key keeps the newest reading of every city', async () => {
    const { ns, told, counted } = await fallBehind('latest-per-key');
    expect(told).toBeGreaterThan(0);
    expect(counted).toBe(told);
    expect(ns.length - 1 + told).toBe(BURST);
    for (let n = BURST - 3; n <= BURST; n++) expect(ns).toContain(n);
  });
});
