import type { Socket } from 'node:net';
import { createHub, createMemorySessions, initCorbel } from '@corbel/core';
import { createCorbelServer, createSessionRouter, createSessionService } from '@corbel/server';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { until } from '../test/sse-server.js';
import { createCorbelClient } from './client.js';
import { openSession } from './session.js';

/** A real Corbel server mounting the session router; one identity, "alice". */
async function startSessionServer() {
  const hub = createHub();
  const opened: { resumed: boolean; cursors: Record<string, string> }[] = [];
  const service = createSessionService({
    registry: createMemorySessions({ ttlMs: 60_000 }),
    hub,
    message: z.object({ text: z.string() }),
    onOpen: (_session, info) => void opened.push(info),
  });
  const t = initCorbel<{ user: string }>();
  const router = t.router({
    session: createSessionRouter({ service, ownerOf: (ctx: { user: string }) => ctx.user }),
  });
  const sockets = new Set<Socket>();
  const server = createCorbelServer({
    router,
    sseRetryMs: 50,
    createContext: () => ({ user: 'alice' }),
    streamHooks: { onOpen: ({ req }) => void sockets.add(req.socket) },
  });
  const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
  const client = createCorbelClient<typeof router>({ url, transport: 'sse', maxReconnectDelayMs: 50 });
  return {
    client,
    service,
    opened,
    sockets,
    async [Symbol.asyncDispose]() {
      await server.close();
      service.close();
      await hub.close();
    },
  };
}

describe('openSession', () => {
  it('keeps its id across reopen, telling the server the cursors; a session the server lost is replaced', async () => {
    await using svc = await startSessionServer();
    const session = await openSession(svc.client);
    expect(session.id).toMatch(/^[0-9a-f]{32}$/);
    expect(session.resumed).toBe(false);
    const id = session.id;
    expect(await session.reopen({ 'weather.readings': 'x-1' })).toBe(true);
    expect(session.id).toBe(id);
    expect(svc.opened.at(-1)).toEqual({ resumed: true, cursors: { 'weather.readings': 'x-1' } });

    const again = await openSession(svc.client, { resume: id });
    expect([again.id, again.resumed]).toEqual([id, true]);

    // The server no longer has it (expired, or a store that was wiped): a new session replaces it.
    await svc.service.registry.end(id);
    expect(await session.reopen()).toBe(false);
    expect(session.id).not.toBe(id);
    expect(session.resumed).toBe(false);
  });

  it("reads the session's private messages, resumed by id across a cut connection, none twice", async () => {
    await using svc = await startSessionServer();
    const session = await openSession(svc.client);
    const ac = new AbortController();
    const got: string[] = [];
    const reading = (async () => {
      for await (const { data } of session.messages({ signal: ac.signal })) got.push(data.text);
    })();
    await until(() => svc.sockets.size === 1, 'the stream');
    await svc.service.send(session.id, { text: 'one' });
    await until(() => got.length === 1, 'the first message');
    for (const socket of svc.sockets) socket.destroy();
    await svc.service.send(session.id, { text: 'two' });
    await svc.service.send(session.id, { text: 'three' });
    await until(() => got.length === 3, 'the rest');
    expect(got).toEqual(['one', 'two', 'three']);
    ac.abort();
    await reading;
  });
});
