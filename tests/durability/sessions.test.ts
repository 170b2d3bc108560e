import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StationRouter } from '@corbel/app-weather/src/station-sessions.js';
import { createCorbelClient, openSession, trpcCodeOf } from '@corbel/client';
import { createHub, createMemorySessions, initCorbel } from '@corbel/core';
import { createCorbelServer, createSessionRouter, createSessionService } from '@corbel/server';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { portOf, report, startStation, until } from './station-helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Collects a session's private messages in the background. */
function collect<T>(iterable: AsyncIterable<{ id: string; data: T }>) {
  const items: { id: string; data: T }[] = [];
  const errors: unknown[] = [];
  void (async () => {
    try {
      for await (const item of iterable) items.push(item);
    } catch (error) {
      errors.push(error);
    }
  })();
  return { items, errors };
}

/** A server with two identities (alice, bob: `Authorization: Bearer <name>`) and sessions with a short TTL. */
async function startTwoUserServer(ttlMs = 60_000) {
  const hub = createHub();
  const service = createSessionService({
    registry: createMemorySessions({ ttlMs }),
    hub,
    message: z.object({ text: z.string() }),
    sweepIntervalMs: 50,
  });
  const t = initCorbel<{ user: string | null }>();
  const router = t.router({
    session: createSessionRouter({
      service,
      ownerOf: (ctx: { user: string | null }) => ctx.user,
      canList: (ctx) => ctx.user !== null,
    }),
  });
  const server = createCorbelServer({
    router,
    createContext: ({ req }) => {
      const user = req.headers.authorization?.replace(/^Bearer /, '') ?? null;
      return { user: user === 'alice' || user === 'bob' ? user : null };
    },
  });
  const { url } = await server.listen({ port: 0 });
  const clientFor = (user: string) => createCorbelClient<typeof router>({ url, token: user });
  return {
    service,
    clientFor,
    async [Symbol.asyncDispose]() {
      await server.close();
      service.close();
      await hub.close();
    },
  };
}

describe('sessions', () => {
  it('gives 128-bit ids and a private channel only the owner can read', async () => {
    await using svc = await startTwoUserServer();
    const alice = svc.clientFor('alice');
    const bob = svc.clientFor('bob');
    const session = await openSession(alice);
    expect(session.id).toMatch(/^[0-9a-f]{32}$/);
    expect(session.resumed).toBe(false);
    const other = await openSession(alice);
    expect(other.id).not.toBe(session.id);

    const inbox = collect(session.messages());
    await svc.service.send(session.id, { text: 'for alice only' });
    await until(() => inbox.items.length === 1, { what: 'alice to get her message', timeoutMs: 30_000 });
    expect(inbox.items[0]!.data).toEqual({ text: 'for alice only' });

    // Bob knows the id (say it leaked) but is another identity: refused before any stream starts.
    const stolen = collect(bob.session.messages.subscribe({ id: session.id }));
    await until(() => stolen.errors.length === 1, { what: 'bob to be refused', timeoutMs: 30_000 });
    expect(trpcCodeOf(stolen.errors[0])).toBe('FORBIDDEN');
    expect(stolen.items).toEqual([]);
    await expect(bob.session.open.mutate({ resume: session.id })).rejects.toMatchObject({
      data: { code: 'FORBIDDEN' },
    });
    // A guessed id is unknown; garbage is a bad request.
    const guessed = collect(alice.session.messages.subscribe({ id: 'f'.repeat(32) }));
    await until(() => guessed.errors.length === 1, { what: 'a guessed id to be refused', timeoutMs: 30_000 });
    expect(trpcCodeOf(guessed.errors[0])).toBe('NOT_FOUND');
    await expect(alice.session.open.mutate({ resume: 'not-a-session' })).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST' },
    });
    // Callers without an identity cannot open one.
    await expect(svc.clientFor('mallory').session.open.mutate({})).rejects.toMatchObject({
      data: { code: 'UNAUTHORIZED' },
    });

    // The operator list: who, since when, last seen, streams; never the secret id.
    const list = await alice.session.list.query();
    expect(list).toHaveLength(2);
    const mine = list.find((s) => s.ref === session.id.slice(0, 8))!;
    expect(mine).toMatchObject({ owner: 'alice', streams: 1 });
    expect(mine.createdAt).toBeInstanceOf(Date);
    expect(mine.lastSeenAt.getTime()).toBeGreaterThanOrEqual(mine.createdAt.getTime());
    expect(JSON.stringify(list)).not.toContain(session.id);
  });

  it('expires idle sessions after the TTL, but not while their stream is open', async () => {
    await using svc = await startTwoUserServer(300);
    const alice = svc.clientFor('alice');
    const idle = await openSession(alice);
    const busy = await openSession(alice);
    const inbox = collect(busy.messages());
    await new Promise((resolve) => setTimeout(resolve, 900));
    const refs = (await alice.session.list.query()).map((s) => s.ref);
    expect(refs).toEqual([busy.id.slice(0, 8)]);
    expect(await idle.reopen()).toBe(false);
    expect(idle.id).not.toBe(busy.id);
    await svc.service.send(busy.id, { text: 'still here' });
    await until(() => inbox.items.length === 1, {
      what: 'the open stream to keep its session',
      timeoutMs: 30_000,
    });
  });

  it('survives a reconnect and a station restart; the board gets a welcome-back note', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'corbel-sessions-'));
    dirs.push(dataDir);
    let station = await startStation(dataDir);
    const port = portOf(station.ready);
    try {
      const client = createCorbelClient<StationRouter>({ url: station.ready });
      const session = await openSession(client);
      const id = session.id;
      const inbox = collect(session.messages());
      const seen = await report(station.ready, 'Oslo', 1);
      expect(seen).not.toBeNull();

      await station.stop();
      station = await startStation(dataDir, port);
      for (const celsius of [2, 3]) await report(station.ready, 'Oslo', celsius);

      // Same session after the restart (it is stored with the events).
      expect(await session.reopen({ 'weather.readings': seen! })).toBe(true);
      expect(session.id).toBe(id);
      // The private stream reconnected on its own and the note arrives on it.
      await until(() => inbox.items.length >= 1, { what: 'the welcome-back note', timeoutMs: 45_000 });
      expect(inbox.items[0]!.data.text).toMatch(/welcome back — you missed 2 readings/);
      expect(inbox.errors).toEqual([]);
      const list = await client.session.list.query();
      expect(list.map((s) => s.ref)).toContain(id.slice(0, 8));
    } finally {
      await station.stop();
    }
  });
});
