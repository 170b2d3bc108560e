import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineChannel } from './channel.js';
import { createHub } from './hub.js';
import { createMemoryLog } from './memory-log.js';
import { pullBatch, START_EVENT_ID } from './subscription.js';

const ticks = defineChannel('test.start', z.object({ n: z.number().int() }));

describe('the start cursor', () => {
  it('is where a subscription of an empty channel stands, and reads every retained event', async () => {
    const hub = createHub({ log: createMemoryLog() });
    const empty = await hub.subscribe(ticks, { after: START_EVENT_ID });
    expect(empty.position).toBe(START_EVENT_ID);
    empty.end('client-gone');

    const a = await hub.publish(ticks, { n: 1 });
    const b = await hub.publish(ticks, { n: 2 });
    const sub = await hub.subscribe(ticks, { after: START_EVENT_ID });
    const batch = await sub[pullBatch](10);
    expect(batch?.map(([id]) => id)).toEqual([a.id, b.id]);
    expect(sub.position).toBe(b.id);
    // Live events after the replay come once.
    const c = await hub.publish(ticks, { n: 3 });
    expect((await sub[pullBatch](10))?.map(([id]) => id)).toEqual([c.id]);
    sub.end('client-gone');
    await hub.close();
  });

  it('without it, a subscription stays live-only and has no position until an event', async () => {
    const hub = createHub({ log: createMemoryLog() });
    await hub.publish(ticks, { n: 1 });
    const sub = await hub.subscribe(ticks);
    expect(sub.position).toBeUndefined();
    expect(await sub.latestId()).toMatch(/-1$/);
    sub.end('client-gone');
    await hub.close();
  });
});
