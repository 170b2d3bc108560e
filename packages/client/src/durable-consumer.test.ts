import { describe, expect, it } from 'vitest';
import { type AckInput, createDurableConsumer } from './durable-consumer.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A stream that yields the given wire ids, then waits until aborted. */
function streamOf(ids: string[]) {
  return async function* (_consumer: string, signal: AbortSignal) {
    for (const id of ids) yield { id, data: { id } };
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  };
}

describe('createDurableConsumer', () => {
  it('hands each event to the app once with its delivery count, acknowledging after the loop body, in batches', async () => {
    const calls: AckInput[] = [];
    const consumer = createDurableConsumer<{ id: string }>({
      name: 'billing',
      channel: 'weather.readings',
      subscribe: streamOf(['e-1~1', 'e-2~1', 'e-1~2', 'e-3~2']),
      sendAck: async (input) => {
        calls.push(input);
        return { acked: input.ids.length };
      },
    });
    const ac = new AbortController();
    const seen: string[] = [];
    const loop = (async () => {
      for await (const d of consumer.deliveries({ signal: ac.signal })) {
        seen.push(`${d.id}#${d.deliveries}`);
        // Nothing is acknowledged while the body runs.
        expect(calls.flatMap((c) => c.ids)).not.toContain(d.id);
      }
    })();
    await sleep(50);
    ac.abort();
    await loop.catch(() => {});
    expect(seen).toEqual(['e-1#1', 'e-2#1', 'e-3#2']);
    expect(await consumer.flush(1000)).toBe(true);
    const acked = calls.flatMap((c) => c.ids);
    // e-1's redelivery is acknowledged again (the first acknowledgement may have been lost), merged into a pending batch when one is.
    expect([...new Set(acked)].sort()).toEqual(['e-1', 'e-2', 'e-3']);
    expect(calls.length).toBeLessThan(4);
    expect(calls[0]).toMatchObject({ channel: 'weather.readings', consumer: 'billing' });
  });

  it('ackNow says whether the server had the event outstanding, retrying while it cannot answer', async () => {
    let failures = 1;
    const consumer = createDurableConsumer({
      name: 'n',
      channel: 'c',
      retryMs: 10,
      sendAck: async (input) => {
        if (failures-- > 0) throw new Error('station down');
        return { acked: input.ids[0] === 'mine' ? 1 : 0 };
      },
    });
    expect(await consumer.ackNow('mine')).toBe(true);
    expect(await consumer.ackNow('theirs')).toBe(false);
    // Owned here: a later redelivery of it is skipped.
    expect(consumer.accept('mine~2')).toBeNull();
    expect(consumer.accept('theirs~2')).toEqual({ id: 'theirs', deliveries: 2 });
  });

  it('a failed batch is sent again', async () => {
    let attempts = 0;
    const consumer = createDurableConsumer({
      name: 'n',
      channel: 'c',
      retryMs: 10,
      sendAck: async () => {
        attempts++;
        if (attempts === 1) throw new Error('refused');
        return { acked: 1 };
      },
    });
    consumer.ack('e-9');
    expect(await consumer.flush(1000)).toBe(true);
    expect(attempts).toBe(2);
  });
});
