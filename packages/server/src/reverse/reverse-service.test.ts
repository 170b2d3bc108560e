import {
  CorbelError,
  createHub,
  createMemoryLog,
  createMemorySessions,
  defineHandler,
  defineHandlers,
  type EventLog,
  type StoredEvent,
} from '@corbel/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createReverseService } from './reverse-service.js';
import type { ReverseService } from './reverse-types.js';

const handlers = defineHandlers({
  'add.one': defineHandler({ input: z.object({ n: z.number() }), output: z.object({ n: z.number() }) }),
});

/** One memory log shared by several hubs, with a live tail: instances on a shared store, without Redis. */
function sharedLog(): EventLog {
  const base = createMemoryLog();
  const tails = new Map<string, Set<(e: StoredEvent) => void>>();
  return {
    kind: 'shared-memory',
    async append(channel, payload) {
      const event = await base.append(channel, payload);
      for (const listener of tails.get(channel) ?? []) listener(event);
      return event;
    },
    read: (channel, opts) => base.read(channel, opts),
    checkResumeId: (channel, id) => base.checkResumeId(channel, id),
    compareIds: (a, b) => base.compareIds(a, b),
    latestId: (channel) => base.latestId(channel),
    tail(channel, onEvent) {
      const set = tails.get(channel) ?? new Set();
      tails.set(channel, set);
      set.add(onEvent);
      return () => set.delete(onEvent);
    },
    close: async () => {},
  };
}

/** A client in-process: reads its calls stream on `via` and answers through `via`, as a real client does over HTTP. */
async function serveOn(
  via: ReverseService<typeof handlers>,
  session: string,
  owner: string,
  signal: AbortSignal,
) {
  const stream = await via.calls(session, owner, { signal });
  void (async () => {
    for await (const frame of stream) {
      // A tracked envelope is [id, data].
      const call = frame[1] as { type: string; callId: string; input: { n: number } };
      if (call.type !== 'call') continue;
      await via.reply(owner, {
        session,
        callId: call.callId,
        result: { ok: true, output: { n: call.input.n + 1 } },
      });
    }
  })().catch(() => {});
}

describe('createReverseService on a shared log', () => {
  it('a call made on instance A reaches a client linked to B, and the answer returns to A', async () => {
    const log = sharedLog();
    const registry = createMemorySessions();
    const a = createReverseService({ hub: createHub({ log }), registry, handlers, graceMs: 200 });
    const b = createReverseService({ hub: createHub({ log }), registry, handlers, graceMs: 200 });
    const ac = new AbortController();
    try {
      const { id } = await registry.open('alice');
      await serveOn(b, id, 'alice', ac.signal);
      // A sees the client as connected through the session (B marked its link there).
      await expect.poll(async () => (await a.connected()).map((s) => s.id)).toEqual([id]);
      expect(await a.call(id, 'add.one', { n: 41 }, { timeoutMs: 2000 })).toEqual({ n: 42 });
      // The client drops on B: A reports CLIENT_GONE about one grace period later, not a timeout.
      ac.abort();
      const started = Date.now();
      const error = await a.call(id, 'add.one', { n: 1 }, { timeoutMs: 5000 }).catch((e) => e);
      expect(CorbelError.find(error)?.corbelCode).toBe('CLIENT_GONE');
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      ac.abort();
      a.close();
      b.close();
    }
  });

  it('a reply checked on B for a call minted for another session is refused', async () => {
    const log = sharedLog();
    const registry = createMemorySessions();
    const a = createReverseService({ hub: createHub({ log }), registry, handlers });
    const b = createReverseService({ hub: createHub({ log }), registry, handlers });
    try {
      const alice = await registry.open('alice');
      const mallory = await registry.open('mallory');
      await a.ready();
      await b.ready();
      // Mallory learns a call id of Alice's (she cannot, but suppose) and answers it on her own session.
      const pending = a.call(alice.id, 'add.one', { n: 1 }, { timeoutMs: 300 }).catch((e) => e);
      const callIdOf = async () => {
        const events = await log.read(`corbel.session.${alice.id}.calls`, { limit: 10 });
        const call = events.find((e) => (e.payload as { type: string }).type === 'call');
        return (call?.payload as { callId?: string } | undefined)?.callId;
      };
      await expect.poll(callIdOf).toBeTypeOf('string');
      const callId = (await callIdOf())!;
      const refused = await b
        .reply('mallory', { session: mallory.id, callId, result: { ok: true, output: { n: 0 } } })
        .catch((e) => e);
      expect(CorbelError.find(refused)?.corbelCode).toBe('FORBIDDEN');
      const notHers = await b
        .reply('mallory', { session: alice.id, callId, result: { ok: true, output: { n: 0 } } })
        .catch((e) => e);
      expect(CorbelError.find(notHers)?.corbelCode).toBe('FORBIDDEN');
      expect(CorbelError.find(await pending)?.corbelCode).toBe('TIMEOUT');
    } finally {
      a.close();
      b.close();
    }
  });
});
