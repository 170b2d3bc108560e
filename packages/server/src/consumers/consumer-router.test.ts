import {
  createDurableConsumers,
  createHub,
  createMemoryConsumerPositions,
  defineChannel,
} from '@corbel/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createConsumerRouter, MAX_ACK_IDS } from './consumer-router.js';

const jobs = defineChannel('test.jobs', z.object({ n: z.number() }));

describe('consumer.ack', () => {
  it("acknowledges the caller's own consumer only, and refuses callers without an identity", async () => {
    const hub = createHub();
    const consumers = createDurableConsumers({ hub, positions: createMemoryConsumerPositions() });
    const router = createConsumerRouter<{ who: string | null }>({ consumers, ownerOf: (ctx) => ctx.who });
    const ac = new AbortController();
    const stream = (await consumers.subscribe(jobs, { owner: 'alice', name: 'billing', signal: ac.signal }))[
      Symbol.asyncIterator
    ]();
    await hub.publish(jobs, { n: 1 });
    const [id] = (await stream.next()).value as [string, unknown];
    const input = { channel: 'test.jobs', consumer: 'billing', ids: [id] };
    expect(await router.createCaller({ who: 'bob' }).ack(input)).toEqual({ acked: 0 });
    expect(await router.createCaller({ who: 'alice' }).ack(input)).toEqual({ acked: 1 });
    expect(await router.createCaller({ who: 'alice' }).ack(input)).toEqual({ acked: 0 });
    await expect(router.createCaller({ who: null }).ack(input)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
    ac.abort();
    await consumers.close();
    await hub.close();
  });

  it('refuses bad names and oversized batches, and answers NOT_IMPLEMENTED without a service', async () => {
    const router = createConsumerRouter<object>({ consumers: undefined, ownerOf: () => 'anyone' });
    const caller = router.createCaller({});
    await expect(caller.ack({ channel: 'c', consumer: 'no spaces', ids: ['1'] })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    const many = Array.from({ length: MAX_ACK_IDS + 1 }, (_, i) => `e-${i}`);
    await expect(caller.ack({ channel: 'c', consumer: 'ok', ids: many })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await expect(caller.ack({ channel: 'c', consumer: 'ok', ids: ['e-1'] })).rejects.toMatchObject({
      code: 'NOT_IMPLEMENTED',
    });
  });
});
