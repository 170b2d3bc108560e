import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineChannel } from './channel.js';
import { createHub } from './hub.js';
import { createMemoryLog } from './memory-log.js';
import { nextPublishKey, runWithPublishKeys } from './publish-key.js';

const ch = defineChannel('c', z.object({ n: z.number() }));

describe('publish keys', () => {
  it('gives the n-th publish of a keyed call the same key on every run, and none outside a call', async () => {
    expect(nextPublishKey()).toBeUndefined();
    const keysOf = () =>
      runWithPublishKeys('scope', 'fp', 1000, async () => {
        const a = nextPublishKey();
        await Promise.resolve();
        const b = nextPublishKey();
        return [a?.key, b?.key];
      });
    const first = await keysOf();
    expect(first[0]).not.toBe(first[1]);
    expect(await keysOf()).toEqual(first);
    expect(
      await runWithPublishKeys('scope', 'other input', 1000, async () => nextPublishKey()?.key),
    ).not.toBe(first[0]);
  });

  it('a rerun of a keyed call gets its events back and fans out nothing', async () => {
    const hub = createHub({ log: createMemoryLog() });
    const seen: number[] = [];
    const sub = await hub.subscribe(ch, {});
    const reading = (async () => {
      for await (const [, p] of sub) seen.push(p.n);
    })().catch(() => {});
    const call = () =>
      runWithPublishKeys('s', 'f', 60_000, async () => [
        (await hub.publish(ch, { n: 1 })).id,
        (await hub.publish(ch, { n: 2 })).id,
      ]);
    const first = await call();
    expect(await call()).toEqual(first);
    // An explicit key dedupes outside a call too.
    const a = await hub.publish(ch, { n: 3 }, { key: 'k' });
    expect((await hub.publish(ch, { n: 3 }, { key: 'k' })).id).toBe(a.id);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen).toEqual([1, 2, 3]);
    expect((await hub.log.read('c', { limit: 10 })).length).toBe(3);
    await hub.close();
    await reading;
  });
});
