import { observable } from '@trpc/server/observable';
import superjson from 'superjson';
import { describe, expect, it } from 'vitest';
import { createPiggyback } from './piggyback.js';

/** A command answer carrying `ids` (payload: the id's number) in `corbel-events`. */
const answer = (ids: string[]) =>
  new Response('{}', {
    headers: {
      'corbel-events': Buffer.from(
        JSON.stringify({
          events: ids.map((id) => ({ id, data: superjson.serialize(Number(id.slice(2))) })),
          lastEventId: ids.at(-1) ?? null,
          more: false,
          done: false,
        }),
      ).toString('base64url'),
    },
  });

/** One subscription through the piggyback link, its transport driven by hand. */
function setup(input: unknown = { lastEventId: 'e-1' }) {
  const pb = createPiggyback();
  const got: unknown[] = [];
  let transport!: (value: unknown) => void;
  const link = pb.link()({} as never);
  const sub = link({
    op: { type: 'subscription', path: 'ticks', input, id: 1, context: {}, signal: null },
    next: () =>
      observable((o) => {
        transport = (value) => o.next(value as never);
        return () => {};
      }),
  } as never).subscribe({
    next: (v: any) => got.push(v.result.id ?? v.result.data),
  });
  const track = (id: string) => transport({ result: { id, data: { id, data: Number(id.slice(2)) } } });
  const sent: Headers[] = [];
  let reply: (ids: string[]) => void = () => {};
  const fetchFn = pb.commandFetch(async (_url, init) => {
    sent.push(new Headers(init?.headers));
    return new Promise<Response>((resolve) => {
      reply = (ids) => resolve(answer(ids));
    });
  });
  /** Sends a command; resolves once `ids` came back in its answer. */
  const command = () => {
    const res = fetchFn('http://h/rpc/echo', {});
    return (ids: string[]) => {
      reply(ids);
      return res;
    };
  };
  return { got, track, transport: (v: unknown) => transport(v), sent, command, sub };
}

describe('piggyback merge', () => {
  it('asks for the subscription after its newest id, delivers the answer, then skips the transport until it catches up', async () => {
    const s = setup({ lastEventId: 'e-1', even: false });
    const done = s.command();
    expect(s.sent[0]!.get('corbel-piggyback')).toBe('ticks');
    expect(s.sent[0]!.get('corbel-piggyback-last-event-id')).toBe('e-1');
    expect(s.sent[0]!.get('corbel-piggyback-input')).toBe(
      encodeURIComponent(JSON.stringify(superjson.serialize({ even: false }))),
    );
    await done(['e-2', 'e-3']);
    expect(s.got).toEqual(['e-2', 'e-3']);
    s.track('e-2');
    s.track('e-3');
    s.track('e-4');
    expect(s.got).toEqual(['e-2', 'e-3', 'e-4']);
  });

  it('delivers only what follows the newest event when the transport moved on meanwhile', async () => {
    const s = setup();
    const first = s.command();
    s.track('e-2');
    await first(['e-2', 'e-3']);
    expect(s.got).toEqual(['e-2', 'e-3']);
    s.track('e-3');
    // An answer that is all old news (asked at e-3, the transport already at e-5).
    const second = s.command();
    expect(s.sent[1]!.get('corbel-piggyback-last-event-id')).toBe('e-3');
    s.track('e-4');
    s.track('e-5');
    await second(['e-4']);
    s.track('e-6');
    expect(s.got).toEqual(['e-2', 'e-3', 'e-4', 'e-5', 'e-6']);
  });

  it('asks nothing for a subscription without an id yet, nor after an event without one, nor once it ended', async () => {
    const s = setup({});
    void s.command()([]);
    expect(s.sent[0]!.has('corbel-piggyback')).toBe(false);
    s.track('e-1');
    void s.command()([]);
    expect(s.sent[1]!.get('corbel-piggyback-last-event-id')).toBe('e-1');
    s.transport({ result: { data: 'plain' } });
    void s.command()([]);
    expect(s.sent[2]!.has('corbel-piggyback')).toBe(false);
    expect(s.got).toEqual(['e-1', 'plain']);

    const t = setup();
    t.sub.unsubscribe();
    void t.command()([]);
    expect(t.sent[0]!.has('corbel-piggyback')).toBe(false);
  });
});
