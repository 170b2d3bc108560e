import { createCorbelClient, trpcCodeOf } from '@corbel/client';
import { issueToken, signedTokenAuth, staticTokenAuth, verifyToken } from '@corbel/server';
import { openSse, rawRequest } from '@corbel/testing';
import { describe, expect, it } from 'vitest';
import { q, type SecurityRouter, startSecurityService, until } from './fixture.js';

const KEY = 'k'.repeat(32) + '-shared-signing-key';

describe('authentication on every command and every stream', () => {
  it('answers a command without or with a wrong token with 401 and a clear message', async () => {
    await using svc = await startSecurityService({ authenticate: staticTokenAuth({ tokens: 's3cret' }) });
    const none = await rawRequest(`${svc.url}/rpc/whoami`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(none.json.error.json.message).toMatch(/Authorization: Bearer/);
    expect(none.json.error.json.data.corbelCode).toBe('UNAUTHENTICATED');

    const wrong = await rawRequest(`${svc.url}/rpc/whoami`, { headers: { authorization: 'Bearer s3cres' } });
    expect(wrong.status).toBe(401);
    // An unauthenticated caller does not learn which procedures exist.
    const unknown = await rawRequest(`${svc.url}/rpc/nope`);
    expect(unknown.status).toBe(401);

    const ok = await rawRequest(`${svc.url}/rpc/whoami`, { headers: { authorization: 'Bearer s3cret' } });
    expect(ok.status).toBe(200);
    expect(ok.json.result.data.json).toBe('token');
  });

  it('refuses a subscription with 401 before any event, not a 200 stream', async () => {
    await using svc = await startSecurityService({
      authenticate: staticTokenAuth({ tokens: { s3cret: 'alice' } }),
    });
    await using refused = await openSse(`${svc.url}/rpc/ticks?${q({})}`);
    expect(refused.status).toBe(401);
    expect(refused.headers['content-type']).toMatch(/application\/json/);
    expect(JSON.parse(refused.body!).error.json.data.code).toBe('UNAUTHORIZED');
    expect(svc.hub.stats().subscribers).toBe(0);

    await using ok = await openSse(`${svc.url}/rpc/ticks?${q({})}`, { authorization: 'Bearer s3cret' });
    expect(ok.status).toBe(200);
  });

  it('issues and verifies HMAC-signed tokens shared by several services', async () => {
    const token = issueToken(KEY, { subject: 'board-7', ttlMs: 60_000, audience: ['weather', 'jobs'] });
    expect(verifyToken(KEY, token, { audience: 'jobs' }).sub).toBe('board-7');
    expect(() => verifyToken(KEY, token, { audience: 'billing' })).toThrow(/not meant for this service/);
    expect(() => verifyToken(`${KEY}x`, token)).toThrow(/signature/);
    const tampered = token.replace(/\.([^.]+)\./, (_, body) => `.${body.slice(0, -2)}xx.`);
    expect(() => verifyToken(KEY, tampered)).toThrow();
    const old = issueToken(KEY, { subject: 'x', ttlMs: 1000, now: Date.now() - 60_000 });
    expect(() => verifyToken(KEY, old)).toThrow(expect.objectContaining({ corbelCode: 'TOKEN_EXPIRED' }));

    // Two services, one key: one token opens both.
    await using a = await startSecurityService({
      authenticate: signedTokenAuth({ key: KEY, audience: 'weather' }),
    });
    await using b = await startSecurityService({
      authenticate: signedTokenAuth({ key: KEY, audience: 'jobs' }),
    });
    for (const svc of [a, b]) {
      const client = createCorbelClient<SecurityRouter>({ url: svc.url, token });
      expect(await client.whoami.query()).toBe('board-7');
    }
    const expired = await rawRequest(`${a.url}/rpc/whoami`, { headers: { authorization: `Bearer ${old}` } });
    expect(expired.status).toBe(401);
    expect(expired.json.error.json.data).toMatchObject({ corbelCode: 'TOKEN_EXPIRED', retryable: true });
  });

  it('ends a stream when its token expires and the client reconnects with a fresh token, losing nothing', async () => {
    const closes: string[] = [];
    await using svc = await startSecurityService({
      authenticate: signedTokenAuth({ key: KEY, leewaySeconds: 0 }),
      streamHooks: { onClose: (_info, reason, error) => closes.push((error as any)?.corbelCode ?? reason) },
    });
    const issued: string[] = [];
    const getToken = () => {
      // Short-lived tokens: the first stream outlives its token.
      const token = issueToken(KEY, { subject: 'alice', ttlMs: 1500 });
      issued.push(token);
      return token;
    };
    const client = createCorbelClient<SecurityRouter>({ url: svc.url, getToken, maxReconnectDelayMs: 300 });
    const got: number[] = [];
    const errors: string[] = [];
    const sub = client.ticks.subscribe(
      {},
      {
        onData: ({ data }) => got.push(data.n),
        onError: (e) => errors.push(String(e)),
      },
    );
    await until(() => svc.hub.stats().subscribers === 1, { what: 'first stream', timeoutMs: 5000 });
    const writer = createCorbelClient<SecurityRouter>({
      url: svc.url,
      token: issueToken(KEY, { subject: 'writer', ttlMs: 60_000 }),
    });
    await writer.publish.mutate({ n: 1, room: 'a' });
    await until(() => got.length === 1, { what: 'first event', timeoutMs: 5000 });
    const tokensBefore = issued.length;
    // The token expires (whole seconds on the wire, so within ~2.5 s); publish across the gap.
    const deadline = Date.now() + 6000;
    let n = 2;
    while (issued.length <= tokensBefore + 1 && Date.now() < deadline) {
      await writer.publish.mutate({ n: n++, room: 'a' });
      await new Promise((r) => setTimeout(r, 100));
    }
    await writer.publish.mutate({ n: n, room: 'a' });
    await until(() => got.length === n, { what: 'all events after the reconnect', timeoutMs: 8000 });
    sub.unsubscribe();
    expect(got).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(errors).toEqual([]);
    expect(closes).toContain('TOKEN_EXPIRED');
    // The stream's reconnect asked getToken again.
    expect(issued.length).toBeGreaterThan(tokensBefore + 1);
  });
});

describe('authorization per command and per channel', () => {
  const authorize = {
    publish: ({ identity }: any) => identity?.id === 'station',
    // A channel with a filter: only room "lobby" for guests.
    ticks: ({ identity, input }: any) => identity?.id !== 'guest' || input?.room === 'lobby',
    // Private inbox: only its owner reads it.
    inbox: ({ identity, input }: any) => input?.owner === identity?.id,
  };
  const tokens = { st: 'station', al: 'alice', bo: 'bob', gu: 'guest' };

  it('lets a rule refuse a command by identity and input with 403', async () => {
    await using svc = await startSecurityService({ authenticate: staticTokenAuth({ tokens }), authorize });
    const alice = createCorbelClient<SecurityRouter>({ url: svc.url, token: 'al' });
    const error = await alice.publish.mutate({ n: 1, room: 'x' }).catch((e) => e);
    expect(trpcCodeOf(error)).toBe('FORBIDDEN');
    expect(error.message).toMatch(/"alice" may not call publish/);
    const station = createCorbelClient<SecurityRouter>({ url: svc.url, token: 'st' });
    expect(await station.publish.mutate({ n: 1, room: 'x' })).toMatch(/-/);
    // In a batch each call is judged on its own.
    const [a, b] = await Promise.allSettled([
      alice.whoami.query(),
      alice.publish.mutate({ n: 2, room: 'x' }),
    ]);
    expect(a).toMatchObject({ status: 'fulfilled', value: 'alice' });
    expect(b.status).toBe('rejected');
  });

  it('gives a refused subscriber 403 and nothing, not even the first event; a private inbox is its owner’s only', async () => {
    await using svc = await startSecurityService({ authenticate: staticTokenAuth({ tokens }), authorize });
    const station = createCorbelClient<SecurityRouter>({ url: svc.url, token: 'st' });
    await station.publish.mutate({ n: 1, room: 'kitchen' });
    const firstId = await station.send.mutate({ to: 'alice', text: 'for alice only' });

    // Guest asking for everything (no filter): refused before the stream.
    await using guestAll = await openSse(`${svc.url}/rpc/ticks?${q({})}`, { authorization: 'Bearer gu' });
    expect(guestAll.status).toBe(403);
    expect(await guestAll.next(100)).toBeNull();
    await using guestLobby = await openSse(`${svc.url}/rpc/ticks?${q({ room: 'lobby' })}`, {
      authorization: 'Bearer gu',
    });
    expect(guestLobby.status).toBe(200);

    // Bob asking for Alice's inbox: refused before the stream, so nothing of hers reaches him.
    await using bobReadsAlice = await openSse(`${svc.url}/rpc/inbox?${q({ owner: 'alice' })}`, {
      authorization: 'Bearer bo',
    });
    expect(bobReadsAlice.status).toBe(403);
    expect(JSON.parse(bobReadsAlice.body!).error.json.data.corbelCode).toBe('FORBIDDEN');
    expect(await bobReadsAlice.next(100)).toBeNull();

    await using aliceInbox = await openSse(`${svc.url}/rpc/inbox?${q({ owner: 'alice' })}`, {
      authorization: 'Bearer al',
    });
    expect(aliceInbox.status).toBe(200);
    await until(() => svc.hub.stats().subscribers === 2, { what: 'alice subscribed', timeoutMs: 5000 });
    await station.send.mutate({ to: 'alice', text: 'second, for alice only' });
    const frames = await aliceInbox.collect(1, 5000);
    expect(frames.find((f) => f.event === 'message')?.data).toContain('second, for alice only');
    expect(firstId).toMatch(/-/);
  });
});
