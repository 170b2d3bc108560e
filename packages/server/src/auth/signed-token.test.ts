import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { issueToken, signedTokenAuth, verifyToken } from './signed-token.js';
import { staticTokenAuth } from './static-token.js';

const KEY = 'a-signing-key-of-at-least-32-bytes!!';
const req = (authorization?: string) =>
  ({ headers: authorization ? { authorization } : {} }) as IncomingMessage;

describe('signed tokens', () => {
  it('round-trips subject, expiry, audience and claims', () => {
    const now = 1_800_000_000_000;
    const token = issueToken(KEY, {
      subject: 'svc-a',
      ttlMs: 60_000,
      audience: ['weather'],
      claims: { role: 'station' },
      now,
    });
    expect(token).toMatch(/^cb1\.[\w-]+\.[\w-]+$/);
    expect(verifyToken(KEY, token, { audience: 'weather', now: now + 1000 })).toMatchObject({
      sub: 'svc-a',
      exp: (now + 60_000) / 1000,
      aud: ['weather'],
      ext: { role: 'station' },
    });
  });

  it('refuses a wrong key, a changed payload, an expired token, a foreign audience and a short key', () => {
    const token = issueToken(KEY, { subject: 'x', ttlMs: 1000, now: 0 });
    const code = (f: () => unknown) => {
      try {
        f();
        return 'ok';
      } catch (e) {
        return (e as { corbelCode?: string }).corbelCode ?? String(e);
      }
    };
    expect(code(() => verifyToken(`${KEY}?`, token, { now: 0 }))).toBe('UNAUTHENTICATED');
    const [p, body, sig] = token.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(body!, 'base64url').toString()), sub: 'admin' }),
    );
    expect(code(() => verifyToken(KEY, `${p}.${forged.toString('base64url')}.${sig}`, { now: 0 }))).toBe(
      'UNAUTHENTICATED',
    );
    expect(code(() => verifyToken(KEY, token, { now: 60_000 }))).toBe('TOKEN_EXPIRED');
    expect(
      code(() =>
        verifyToken(KEY, issueToken(KEY, { subject: 'x', audience: ['jobs'] }), { audience: 'weather' }),
      ),
    ).toBe('UNAUTHENTICATED');
    expect(code(() => verifyToken(KEY, 'not-a-token'))).toBe('UNAUTHENTICATED');
    expect(() => issueToken('short', { subject: 'x' })).toThrow(RangeError);
  });

  it('authenticates requests: identity with expiry, null without a token', () => {
    const auth = signedTokenAuth({ key: KEY });
    const identity = auth(req(`Bearer ${issueToken(KEY, { subject: 'board-1', ttlMs: 60_000 })}`));
    expect(identity).toMatchObject({ id: 'board-1', expiresAt: expect.any(Number) });
    expect(auth(req())).toBeNull();
    expect(auth(req('Basic abc'))).toBeNull();
  });
});

describe('static tokens', () => {
  it('maps secrets to identities and refuses everything else', () => {
    const auth = staticTokenAuth({ tokens: { s1: 'alice', s2: 'bob' } });
    expect(auth(req('Bearer s1'))).toEqual({ id: 'alice' });
    expect(auth(req('bearer s2'))).toEqual({ id: 'bob' });
    expect(auth(req('Bearer s'))).toBeNull();
    expect(auth(req('Bearer s1 extra'))).toBeNull();
    expect(auth(req())).toBeNull();
  });

  it('reads the token from the environment and insists on having one', () => {
    process.env.CORBEL_TEST_TOKEN = 'from-env';
    expect(staticTokenAuth({ env: 'CORBEL_TEST_TOKEN' })(req('Bearer from-env'))).toEqual({ id: 'token' });
    delete process.env.CORBEL_TEST_TOKEN;
    expect(() => staticTokenAuth({ env: 'CORBEL_TEST_TOKEN' })).toThrow(RangeError);
    expect(() => staticTokenAuth({ tokens: '' })).toThrow(RangeError);
  });
});
