import {
  corbelCodeOf,
  createCorbelClient,
  type HandlerEndpoint,
  openSession,
  serveHandlers,
  trpcCodeOf,
} from '@corbel/client';
import { CorbelError, type HandlerImplementations } from '@corbel/core';
import { mutationBody, rawRequest } from '@corbel/testing';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import {
  type ReverseTestRouter,
  type ReverseTestServer,
  startReverseServer,
  testHandlers,
  until,
} from './fixture.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function server(opts: Parameters<typeof startReverseServer>[0] = {}): Promise<ReverseTestServer> {
  const s = await startReverseServer(opts);
  cleanup.push(() => s.close());
  return s;
}

const codeOf = (error: unknown) => CorbelError.find(error)?.corbelCode;

/** A client of `identity` serving `impls`; resolves once its calls stream is live. */
async function board(
  url: string,
  identity: string,
  impls: HandlerImplementations<typeof testHandlers> = {},
): Promise<{
  client: ReturnType<typeof createCorbelClient<ReverseTestRouter>>;
  endpoint: HandlerEndpoint<typeof testHandlers>;
}> {
  const client = createCorbelClient<ReverseTestRouter>({
    url,
    getToken: () => identity,
    maxReconnectDelayMs: 200,
  });
  const endpoint = serveHandlers(client, {
    handlers: testHandlers,
    implementations: {
      'echo.upper': ({ text }) => ({ text: text.toUpperCase(), at: new Date(0) }),
      'fail.now': () => {
        throw new Error('the printer is on fire');
      },
      'bad.output': () => 'not a number' as unknown as number,
      ...impls,
    },
  });
  cleanup.push(() => endpoint.close());
  await endpoint.ready;
  return { client, endpoint };
}

describe('reverse calls over the client link', () => {
  it('calls a typed handler on one client and gets its validated answer (Date survives)', async () => {
    const s = await server();
    const { endpoint } = await board(s.url, 'alice');
    const handle = s.reverse.to(endpoint.ref!);
    // What an implementation is given and must return, inferred from the contract.
    type Upper = NonNullable<HandlerImplementations<typeof testHandlers>['echo.upper']>;
    expectTypeOf<Parameters<Upper>[0]>().toEqualTypeOf<{ text: string }>();
    expectTypeOf<Awaited<ReturnType<Upper>>>().toEqualTypeOf<{ text: string; at: Date }>();
    const out = await handle.call('echo.upper', { text: 'oslo' });
    expectTypeOf(out).toEqualTypeOf<{ text: string; at: Date }>();
    expect(out).toEqual({ text: 'OSLO', at: new Date(0) });
    // @ts-expect-error: not a handler of the contract
    await expect(s.reverse.call(endpoint.ref!, 'no.such', {})).rejects.toThrow(/not a handler/);
    // @ts-expect-error: input is checked against the contract's type
    await expect(handle.call('echo.upper', { text: 5 })).rejects.toSatisfy(
      (e) => codeOf(e) === 'INVALID_PAYLOAD',
    );
  });

  it('reports handler failures as typed errors', async () => {
    const s = await server();
    const { endpoint } = await board(s.url, 'alice');
    const handle = s.reverse.to(endpoint.ref!);
    const failed = await handle.call('fail.now', {}).catch((e) => e);
    expect(failed).toBeInstanceOf(CorbelError);
    expect(failed.corbelCode).toBe('HANDLER_FAILED');
    expect(failed.message).toContain('the printer is on fire');
    expect(codeOf(await handle.call('bad.output', {}).catch((e) => e))).toBe('INVALID_PAYLOAD');
    expect(codeOf(await handle.call('not.registered', {}).catch((e) => e))).toBe('NO_HANDLER');
    // A handler registered later is used from then on.
    endpoint.register('not.registered', () => null);
    expect(await handle.call('not.registered', {})).toBeNull();
  });

  it('times out with TIMEOUT and cancels with CALL_CANCELLED; both abort the handler signal', async () => {
    const s = await server();
    const aborted: string[] = [];
    const { endpoint } = await board(s.url, 'alice', {
      'slow.wait': ({ ms }, { signal, callId }) =>
        new Promise((resolve) => {
          const timer = setTimeout(() => resolve({ aborted: false }), ms);
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            aborted.push(callId);
            resolve({ aborted: true });
          });
        }),
    });
    const handle = s.reverse.to(endpoint.ref!);
    const started = Date.now();
    const timedOut = await handle.call('slow.wait', { ms: 5000 }, { timeoutMs: 200 }).catch((e) => e);
    expect(codeOf(timedOut)).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(1500);
    await until(() => aborted.length === 1, { what: 'the timed-out handler to be aborted', timeoutMs: 3000 });

    const ac = new AbortController();
    const pending = handle.call('slow.wait', { ms: 5000 }, { signal: ac.signal }).catch((e) => e);
    await until(() => endpoint.stats().running === 1, { what: 'the handler to start', timeoutMs: 3000 });
    ac.abort();
    expect(codeOf(await pending)).toBe('CALL_CANCELLED');
    await until(() => aborted.length === 2, { what: 'the cancelled handler to be aborted', timeoutMs: 3000 });
    expect(await handle.call('slow.wait', { ms: 1 })).toEqual({ aborted: false });
  });

  it('fails with CLIENT_GONE when the client drops and does not come back within the grace period', async () => {
    const s = await server({ graceMs: 300 });
    const { endpoint } = await board(s.url, 'alice', { 'slow.wait': () => new Promise(() => {}) });
    const ref = endpoint.ref!;
    const pending = s.reverse
      .to(ref)
      .call('slow.wait', { ms: 0 }, { timeoutMs: 10_000 })
      .catch((e) => e);
    await until(() => endpoint.stats().running === 1, { what: 'the handler to start', timeoutMs: 3000 });
    const dropped = Date.now();
    endpoint.close();
    expect(codeOf(await pending)).toBe('CLIENT_GONE');
    expect(Date.now() - dropped).toBeLessThan(3000);
    // A call to a client that is not connected fails the same way, after the grace period.
    expect(codeOf(await s.reverse.call(ref, 'echo.upper', { text: 'x' }).catch((e) => e))).toBe(
      'CLIENT_GONE',
    );
    expect(codeOf(await s.reverse.call('f'.repeat(32), 'echo.upper', { text: 'x' }).catch((e) => e))).toBe(
      'CLIENT_GONE',
    );
  });

  it('refuses forged and foreign replies with 403', async () => {
    const s = await server();
    const { client: alice, endpoint } = await board(s.url, 'alice', {
      'slow.wait': () => new Promise(() => {}),
    });
    const { endpoint: bobs } = await board(s.url, 'bob');
    const pending = s.reverse
      .to(endpoint.ref!)
      .call('slow.wait', { ms: 0 }, { timeoutMs: 5000 })
      .catch((e) => e);
    await until(() => endpoint.stats().running === 1, { what: 'the call to arrive', timeoutMs: 3000 });
    const reply = (token: string, session: string, callId: string) =>
      rawRequest(`${s.url}/rpc/reverse.reply`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: mutationBody({ session, callId, result: { ok: true, output: { aborted: false } } }),
      });
    // A made-up call id on one's own session, and a call id minted for another session.
    const forged = `${'0'.repeat(16)}.${'1'.repeat(24)}.${'2'.repeat(32)}`;
    expect((await reply('alice', endpoint.ref!, forged)).status).toBe(403);
    const foreign = s.reverse.to(bobs.ref!).call('echo.upper', { text: 'b' });
    await foreign;
    // Bob answering on Alice's session (he is not its owner).
    expect((await reply('bob', endpoint.ref!, forged)).status).toBe(403);
    expect(
      trpcCodeOf(
        await alice.reverse.reply
          .mutate({ session: endpoint.ref!, callId: forged, result: { ok: true, output: 1 } })
          .catch((e) => e),
      ),
    ).toBe('FORBIDDEN');
    // Only the server sends calls: a client cannot read another's calls stream either.
    const peek = await rawRequest(
      `${s.url}/rpc/reverse.calls?input=${encodeURIComponent(JSON.stringify({ json: { session: endpoint.ref! } }))}`,
      {
        headers: { authorization: 'Bearer bob', accept: 'text/event-stream' },
      },
    );
    expect(peek.status).toBe(403);
    expect(codeOf(await s.reverse.callbackOf('bob', endpoint.ref!).catch((e) => e))).toBe('FORBIDDEN');
    await s.close();
    expect(codeOf(await pending)).toBe('CLOSED');
  });

  it('runs a call once across a cut connection and answers it after the resume', async () => {
    const s = await server({ graceMs: 5000 });
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { endpoint } = await board(s.url, 'alice', {
      'echo.upper': async ({ text }) => {
        runs++;
        await gate;
        return { text: text.toUpperCase(), at: new Date(1) };
      },
    });
    const handle = s.reverse.to(endpoint.ref!);
    const first = handle.call('echo.upper', { text: 'one' }, { timeoutMs: 10_000 });
    await until(() => runs === 1, { what: 'the handler to start', timeoutMs: 3000 });
    // Cut every event stream mid-call; make a second call while the client is away.
    for (const socket of s.streamSockets) socket.destroy();
    const second = handle.call('echo.upper', { text: 'two' }, { timeoutMs: 10_000 });
    release();
    expect(await first).toEqual({ text: 'ONE', at: new Date(1) });
    expect(await second).toEqual({ text: 'TWO', at: new Date(1) });
    // The call made while the client was away arrived once after the resume; none ran twice.
    expect(runs).toBe(2);
    expect(endpoint.stats().ran).toBe(2);
    expect(s.reverse.stats().pending).toBe(0);
  });

  it('delivers a call made before the client opened its calls stream (within the grace period)', async () => {
    const s = await server({ graceMs: 3000 });
    const client = createCorbelClient<ReverseTestRouter>({ url: s.url, getToken: () => 'alice' });
    const session = await openSession(client);
    const early = s.reverse.call(session.id, 'echo.upper', { text: 'early' }, { timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 100));
    const endpoint = serveHandlers(client, {
      handlers: testHandlers,
      session,
      implementations: { 'echo.upper': ({ text }) => ({ text: text.toUpperCase(), at: new Date(2) }) },
    });
    cleanup.push(() => endpoint.close());
    expect(await early).toEqual({ text: 'EARLY', at: new Date(2) });
  });

  it('completes 1,000 concurrent calls to one client', { timeout: 60_000 }, async () => {
    const s = await server();
    const started: string[] = [];
    const { endpoint } = await board(s.url, 'alice', {
      'echo.upper': ({ text }) => {
        started.push(text);
        return { text: text.toUpperCase(), at: new Date(0) };
      },
    });
    const handle = s.reverse.to(endpoint.ref!);
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        handle.call('echo.upper', { text: `c${i}` }, { timeoutMs: 30_000 }),
      ),
    );
    expect(results.map((r) => r.text)).toEqual(Array.from({ length: 1000 }, (_, i) => `C${i}`));
    expect(endpoint.stats().ran).toBe(1000);
    // Per-client ordering: handlers started in the order the calls were made.
    expect(started).toEqual(Array.from({ length: 1000 }, (_, i) => `c${i}`));
  });

  it('bounds pending calls per client and payload size', async () => {
    const s = await server({ maxPendingPerClient: 3, maxPayloadBytes: 1000 });
    const { endpoint } = await board(s.url, 'alice', { 'slow.wait': () => new Promise(() => {}) });
    const handle = s.reverse.to(endpoint.ref!);
    const held = [1, 2, 3].map(() =>
      handle.call('slow.wait', { ms: 0 }, { timeoutMs: 2000 }).catch((e) => e),
    );
    await until(() => endpoint.stats().running === 3, { what: 'three calls to arrive', timeoutMs: 3000 });
    expect(codeOf(await handle.call('slow.wait', { ms: 0 }).catch((e) => e))).toBe('LIMIT_EXCEEDED');
    expect(codeOf(await handle.call('echo.upper', { text: 'x'.repeat(2000) }).catch((e) => e))).toBe(
      'PAYLOAD_TOO_LARGE',
    );
    expect((await Promise.all(held)).map(codeOf)).toEqual(['TIMEOUT', 'TIMEOUT', 'TIMEOUT']);
  });

  it('calls many clients with settled results: all, one identity, a set', async () => {
    const s = await server({ graceMs: 200 });
    const a1 = await board(s.url, 'alice');
    const a2 = await board(s.url, 'alice', {
      'echo.upper': () => {
        throw new Error('busy');
      },
    });
    const b1 = await board(s.url, 'bob');
    const all = await s.reverse.callAll('echo.upper', { text: 'hi' }, { timeoutMs: 2000, concurrency: 2 });
    expect(all.map((r) => r.status).sort()).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expectTypeOf(all[0]!).toMatchTypeOf<{ ref: string; target: string }>();
    const alices = await s.reverse.callIdentity('alice', 'echo.upper', { text: 'hi' });
    expect(alices.map((r) => r.target).sort()).toEqual([a1.endpoint.ref, a2.endpoint.ref].sort());
    const failed = alices.find((r) => r.status === 'rejected');
    expect(failed?.status === 'rejected' && codeOf(failed.error)).toBe('HANDLER_FAILED');
    b1.endpoint.close();
    const set = await s.reverse.callMany([a1.endpoint.ref!, b1.endpoint.ref!], 'echo.upper', { text: 'x' });
    expect(set[0]).toMatchObject({ status: 'fulfilled', value: { text: 'X' } });
    expect(set[1]?.status === 'rejected' && codeOf(set[1].error)).toBe('CLIENT_GONE');
  });

  it('lets a command call back the client that sent it (a progress sink)', async () => {
    const s = await server();
    const seen: number[] = [];
    const { client, endpoint } = await board(s.url, 'alice', {
      'job.progress': ({ percent }) => {
        seen.push(percent);
        return true;
      },
    });
    expect(await client.job.run.mutate({ steps: 4, progress: endpoint.ref! })).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(seen).toEqual([25, 50, 75, 100]);
    // Another identity cannot make the server call Alice's client.
    const bob = createCorbelClient<ReverseTestRouter>({ url: s.url, getToken: () => 'bob' });
    const refused = await bob.job.run.mutate({ steps: 1, progress: endpoint.ref! }).catch((e) => e);
    expect(corbelCodeOf(refused)).toBe('FORBIDDEN');
  });
});
