import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineChannel } from './channel.js';
import { CorbelError } from './errors.js';
import { createHub } from './hub.js';
import { createMemoryLog } from './memory-log.js';
import { matchChannels, subscribeWildcard } from './wildcard.js';

const schema = z.object({ n: z.number().int() });
const a = defineChannel('test.a', schema);
const b = defineChannel('test.b', schema);
const c = defineChannel('test.c', schema);
const other = defineChannel('other.x', schema);
const all = [other, c, a, b];

/** Takes `count` events (channel:n and the token) from a wildcard stream, within 2 s. */
async function take(it: AsyncIterator<any>, count: number) {
  const out: { at: string; token: string }[] = [];
  const deadline = Date.now() + 2000;
  while (out.length < count) {
    const r = await Promise.race([
      it.next(),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('no event in time')), deadline - Date.now()),
      ),
    ]);
    if (r.done) throw new Error('stream ended');
    const [token, event] = r.value;
    out.push({ at: `${event.channel.slice(5)}${event.payload.n}`, token });
  }
  return out;
}

describe('wildcard subscriptions', () => {
  it('`test.*` covers exactly the channels under that prefix', () => {
    expect(matchChannels('test.*', all).map((ch) => ch.name)).toEqual(['test.a', 'test.b', 'test.c']);
    expect(matchChannels('other.x', all)).toEqual([other]);
  });

  it('one token resumes all three channels exactly: nothing missed, nothing repeated, each in order', async () => {
    const hub = createHub();
    const channels = matchChannels('test.*', all);
    const ac = new AbortController();
    const first = (await subscribeWildcard(hub, channels, { signal: ac.signal }))[Symbol.asyncIterator]();
    for (let n = 1; n <= 2; n++) for (const ch of [a, b, c]) await hub.publish(ch, { n });
    await hub.publish(other, { n: 99 });
    const got = await take(first, 4);
    expect(got.map((g) => g.at)).toEqual(['a1', 'b1', 'c1', 'a2']);
    ac.abort();
    await first.return?.();

    await hub.publish(a, { n: 3 });
    await hub.publish(c, { n: 3 });
    const again = (await subscribeWildcard(hub, channels, { after: got.at(-1)!.token }))[
      Symbol.asyncIterator
    ]();
    const rest = await take(again, 4);
    expect(rest.map((g) => g.at).sort()).toEqual(['a3', 'b2', 'c2', 'c3']);
    const cs = rest.map((g) => g.at).filter((x) => x.startsWith('c'));
    expect(cs).toEqual(['c2', 'c3']);
    await hub.publish(b, { n: 3 });
    expect((await take(again, 1)).map((g) => g.at)).toEqual(['b3']);
    await again.return?.();
    await hub.close();
  });

  it('a channel that had delivered nothing when the token was taken is read from its start', async () => {
    const hub = createHub();
    const channels = [a, b];
    const first = (await subscribeWildcard(hub, channels))[Symbol.asyncIterator]();
    await hub.publish(a, { n: 1 });
    const [one] = await take(first, 1);
    await first.return?.();
    await hub.publish(b, { n: 1 });
    const again = (await subscribeWildcard(hub, channels, { after: one!.token }))[Symbol.asyncIterator]();
    expect((await take(again, 1)).map((g) => g.at)).toEqual(['b1']);
    await again.return?.();
    await hub.close();
  });

  it('a member whose position is no longer retained refuses the resume with HISTORY_GONE naming it', async () => {
    const hub = createHub({ log: createMemoryLog({ channels: { 'test.b': { maxCount: 2 } } }) });
    const channels = [a, b, c];
    const first = (await subscribeWildcard(hub, channels))[Symbol.asyncIterator]();
    await hub.publish(b, { n: 1 });
    const [one] = await take(first, 1);
    await first.return?.();
    for (let n = 2; n <= 5; n++) await hub.publish(b, { n });
    const refused = await subscribeWildcard(hub, channels, { after: one!.token }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(CorbelError.find(refused)?.corbelCode).toBe('HISTORY_GONE');
    expect((refused as Error).message).toContain('test.b');
    await hub.close();
  });

  it('a token that is not one is INVALID_EVENT_ID', async () => {
    const hub = createHub();
    const refused = await subscribeWildcard(hub, [a], { after: 'garbage' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(CorbelError.find(refused)?.corbelCode).toBe('INVALID_EVENT_ID');
    await hub.close();
  });
});
