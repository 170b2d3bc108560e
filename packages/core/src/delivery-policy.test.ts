import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineChannel } from './channel.js';
import { parseDeliveryId } from './delivery-id.js';
import type { DeliveryPolicy } from './delivery-policy.js';
import { CorbelError } from './errors.js';
import { createHub } from './hub.js';
import { pullBatch } from './subscription.js';

const temps = defineChannel('test.temps', z.object({ city: z.string(), n: z.number().int() }));

/** A subscriber that reads nothing while 10 events (cities a, b, a, b, …) arrive into a queue of 4. */
async function fallBehind(policy: DeliveryPolicy) {
  const drops: number[] = [];
  const hub = createHub({ maxQueue: 4, hooks: { onDrop: (_c, n, p) => drops.push(p === policy ? n : -1) } });
  const sub = await hub.subscribe(temps, { policy, key: (t) => t.city });
  for (let n = 1; n <= 10; n++) await hub.publish(temps, { city: n % 2 === 1 ? 'a' : 'b', n });
  let batch: Awaited<ReturnType<(typeof sub)[typeof pullBatch]>> = null;
  let error: unknown;
  try {
    batch = await sub[pullBatch](100);
  } catch (e) {
    error = e;
  }
  const got = (batch ?? []).map(([id, t]) => ({ n: t.n, ...parseDeliveryId(id) }));
  await hub.close();
  return { got, error, drops, dropped: sub.droppedCount };
}

describe('delivery policies under a slow subscriber (queue bound 4, 10 events)', () => {
  it('cut-and-resume (the default) cuts the subscriber off with SLOW_CONSUMER; nothing is dropped', async () => {
    const { got, error, drops } = await fallBehind('cut-and-resume');
    expect(got).toEqual([]);
    expect(CorbelError.find(error)?.corbelCode).toBe('SLOW_CONSUMER');
    expect(drops).toEqual([]);
  });

  it('drop-oldest keeps the newest 4 and says 6 were dropped on the first one', async () => {
    const { got, drops, dropped } = await fallBehind('drop-oldest');
    expect(got.map((g) => g.n)).toEqual([7, 8, 9, 10]);
    expect(got.map((g) => g.dropped)).toEqual([6, 0, 0, 0]);
    expect(dropped).toBe(6);
    expect(drops.reduce((a, b) => a + b, 0)).toBe(6);
  });

  it('drop-newest keeps the oldest 4', async () => {
    const { got, dropped } = await fallBehind('drop-newest');
    expect(got.map((g) => g.n)).toEqual([1, 2, 3, 4]);
    expect(got[0]!.dropped).toBe(6);
    expect(dropped).toBe(6);
  });

  it('latest-per-key keeps the newest event per key, in order', async () => {
    const { got, dropped } = await fallBehind('latest-per-key');
    expect(got.map((g) => g.n)).toEqual([9, 10]);
    expect(got[0]!.dropped).toBe(8);
    expect(dropped).toBe(8);
  });

  it('a resume id carrying a drop count resumes after its event', async () => {
    const hub = createHub();
    const first = await hub.publish(temps, { city: 'a', n: 1 });
    await hub.publish(temps, { city: 'a', n: 2 });
    const sub = await hub.subscribe(temps, { after: `${first.id}!3` });
    const batch = await sub[pullBatch](10);
    expect(batch!.map(([, t]) => t.n)).toEqual([2]);
    await hub.close();
  });
});
