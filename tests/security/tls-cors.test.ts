import { createCorbelClient, createNodeFetch } from '@corbel/client';
import { staticTokenAuth } from '@corbel/server';
import { makeSelfSignedCert, rawRequest, requireOpenssl, type SelfSignedCert } from '@corbel/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SecurityRouter, startSecurityService, until } from './fixture.js';

const opensslPresent = requireOpenssl('the TLS tests');

describe.runIf(opensslPresent)('TLS with a certificate made at test time', () => {
  let tls: SelfSignedCert;
  let key: Buffer;
  let cert: Buffer;
  beforeAll(() => {
    tls = makeSelfSignedCert();
    ({ key, cert } = tls);
  });
  afterAll(() => tls?.[Symbol.dispose]());

  it('serves commands and streams over HTTPS to a client that trusts the CA, and refuses one that does not', async () => {
    await using svc = await startSecurityService({
      tls: { key, cert },
      authenticate: staticTokenAuth({ tokens: 't' }),
    });
    expect(svc.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const client = createCorbelClient<SecurityRouter>({ url: svc.url, token: 't', tls: { ca: cert } });
    expect(await client.whoami.query()).toBe('token');

    const got: number[] = [];
    const sub = client.ticks.subscribe({}, { onData: ({ data }) => got.push(data.n) });
    await until(() => svc.hub.stats().subscribers === 1, { what: 'subscribed over TLS', timeoutMs: 5000 });
    await client.publish.mutate({ n: 1, room: 'r' });
    await client.publish.mutate({ n: 2, room: 'r' });
    await until(() => got.length === 2, { what: 'events over TLS', timeoutMs: 5000 });
    sub.unsubscribe();
    expect(got).toEqual([1, 2]);

    // No CA: the certificate is refused.
    const untrusting = createCorbelClient<SecurityRouter>({ url: svc.url, token: 't', tls: {} });
    await expect(untrusting.whoami.query()).rejects.toThrow();
    // Plain HTTP to the TLS port gets nothing useful.
    await expect(rawRequest(svc.url.replace('https', 'http') + '/healthz')).rejects.toThrow();
    // The node fetch with the CA reads /healthz.
    const res = await createNodeFetch({ ca: cert })(`${svc.url}/healthz`);
    expect(res.status).toBe(200);
  });
});

describe('CORS only for configured origins', () => {
  const origin = 'https://board.example.com';

  it('answers a real preflight for an allowed origin and refuses others', async () => {
    await using svc = await startSecurityService({ cors: { origins: [origin] } });
    const preflight = await rawRequest(`${svc.url}/rpc/send`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
    expect(preflight.headers.get('access-control-allow-methods')).toMatch(/POST/);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    expect(preflight.headers.get('access-control-max-age')).toBe('600');

    const evil = await rawRequest(`${svc.url}/rpc/send`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();

    const badHeader = await rawRequest(`${svc.url}/rpc/send`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-weird',
      },
    });
    expect(badHeader.status).toBe(403);

    const actual = await rawRequest(`${svc.url}/rpc/whoami`, { headers: { origin } });
    expect(actual.status).toBe(200);
    expect(actual.headers.get('access-control-allow-origin')).toBe(origin);
    expect(actual.headers.get('vary')).toMatch(/Origin/);
    const other = await rawRequest(`${svc.url}/rpc/whoami`, { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('sends no CORS headers at all when none are configured (OPTIONS is not a procedure call)', async () => {
    await using svc = await startSecurityService();
    const preflight = await rawRequest(`${svc.url}/rpc/send`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(405);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });
});
