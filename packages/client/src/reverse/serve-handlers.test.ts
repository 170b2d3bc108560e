import { defineHandler, defineHandlers, type ReverseFrame, type ReverseReply } from '@corbel/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type ReverseClient, serveHandlers } from './serve-handlers.js';

const handlers = defineHandlers({
  'count.up': defineHandler({ input: z.object({ by: z.number() }), output: z.object({ total: z.number() }) }),
});

/** A client double: the test pushes frames as if they came over the stream, and sees every reply. */
function fakeClient() {
  const replies: ReverseReply[] = [];
  let push!: (frame: ReverseFrame, id: string) => void;
  let restart!: () => void;
  let failReplies = 0;
  const client: ReverseClient = {
    session: {
      open: {
        mutate: async () => ({ id: 'a'.repeat(32), resumed: false, createdAt: new Date(), ttlMs: 1000 }),
      },
      messages: { subscribe: () => (async function* () {})() },
    },
    reverse: {
      calls: {
        subscribe(_input, cb) {
          push = (frame, id) => cb.onData({ id, data: frame });
          restart = () => cb.onStarted?.();
          queueMicrotask(() => cb.onStarted?.());
          return { unsubscribe() {} };
        },
      },
      reply: {
        mutate: async (input) => {
          if (failReplies > 0) {
            failReplies--;
            throw new Error('connection reset');
          }
          replies.push(input);
          return { accepted: true };
        },
      },
    },
  };
  return {
    client,
    replies,
    push: (frame: ReverseFrame, id: string) => push(frame, id),
    restart: () => restart(),
    failNextReplies(n: number) {
      failReplies = n;
    },
  };
}

const call = (callId: string, by: number): Extract<ReverseFrame, { type: 'call' }> => ({
  type: 'call',
  callId,
  path: 'count.up',
  input: { by },
  deadline: Date.now() + 10_000,
});

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('serveHandlers', () => {
  it('runs a call delivered twice (a replay after resume) once, and answers it once', async () => {
    const fake = fakeClient();
    let total = 0;
    const endpoint = serveHandlers(fake.client, {
      handlers,
      implementations: {
        'count.up': ({ by }) => {
          total += by;
          return { total };
        },
      },
    });
    await endpoint.ready;
    fake.push(call('c1', 5), '1');
    await settle();
    fake.push(call('c1', 5), '1');
    fake.push(call('c2', 1), '2');
    await settle();
    expect(total).toBe(6);
    expect(fake.replies.map((r) => [r.callId, r.result])).toEqual([
      ['c1', { ok: true, output: { total: 5 } }],
      ['c2', { ok: true, output: { total: 6 } }],
    ]);
    expect(endpoint.stats()).toEqual({ ran: 2, fromMemory: 1, running: 0 });
    endpoint.close();
  });

  it('resends a remembered answer that could not be delivered, without running again', async () => {
    const fake = fakeClient();
    let runs = 0;
    const endpoint = serveHandlers(fake.client, {
      handlers,
      implementations: {
        'count.up': ({ by }) => {
          runs++;
          return { total: by };
        },
      },
    });
    await endpoint.ready;
    // A 4xx-less failure is retried in place; make the deadline pass so it gives up first.
    fake.failNextReplies(100);
    fake.push({ ...call('c1', 3), deadline: Date.now() - 1 }, '1');
    await settle();
    expect(fake.replies).toEqual([]);
    fake.failNextReplies(0);
    fake.push(call('c1', 3), '1');
    await settle();
    expect(runs).toBe(1);
    expect(fake.replies.map((r) => r.result)).toEqual([{ ok: true, output: { total: 3 } }]);
    endpoint.close();
  });

  it('answers unknown handlers, bad input and thrown errors with their codes', async () => {
    const fake = fakeClient();
    const endpoint = serveHandlers(fake.client, {
      handlers,
      implementations: {
        'count.up': () => {
          throw new Error('nope');
        },
      },
    });
    await endpoint.ready;
    fake.push({ ...call('c1', 1), path: 'other.thing' }, '1');
    fake.push({ ...call('c2', 1), input: { by: 'x' } }, '2');
    fake.push(call('c3', 1), '3');
    await settle();
    expect(fake.replies.map((r) => [r.callId, r.result.ok ? 'ok' : r.result.error.code])).toEqual([
      ['c1', 'NO_HANDLER'],
      ['c2', 'INVALID_PAYLOAD'],
      ['c3', 'HANDLER_FAILED'],
    ]);
    endpoint.close();
  });
});
