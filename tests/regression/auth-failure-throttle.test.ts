/**
 * Issue 15, finding 6: guessing tokens was free (2,000 wrong bearer tokens
 * from one address all got 401, never 429). Failed authentications are now
 * counted per client address: past a small burst, 429 with Retry-After, for
 * static and signed tokens alike; a success is never slowed.
 */
import { issueToken, signedTokenAuth, staticTokenAuth } from '@corbel/server';
import { describe, expect, it } from 'vitest';
import { startSecurityService } from '../security/fixture.js';
import { tally, timedRequest } from '../security/round-two-attacks.js';

const KEY = 'a-signing-key-of-at-least-32-bytes!!';
const whoami = (url: string, token: string) =>
  timedRequest(`${url}/rpc/whoami`, { headers: { authorization: `Bearer ${token}` } });

describe('failed authentications are throttled per address', () => {
  it('static tokens: 429 with Retry-After past the burst; the right token still answers at once', async () => {
    await using svc = await startSecurityService({ authenticate: staticTokenAuth({ tokens: 'right' }) });
    const wrong = await tally(200, 10, () => whoami(svc.url, 'wrong'));
    console.log(`200 wrong static tokens: ${JSON.stringify(wrong.byStatus)}`);
    expect(wrong.byStatus[401]).toBeLessThanOrEqual(15);
    expect(wrong.byStatus[429]).toBeGreaterThan(180);
    expect(wrong.retryAfter).toBe(true);
    const right = await whoami(svc.url, 'right');
    expect(right.status).toBe(200);
    expect(right.ms).toBeLessThan(1000);
  });

  it('signed tokens alike; a token that merely expired is not a guess', async () => {
    await using svc = await startSecurityService({ authenticate: signedTokenAuth({ key: KEY }) });
    const expired = issueToken(KEY, { subject: 'old', ttlMs: 1000, now: Date.now() - 60_000 });
    const stale = await tally(30, 5, () => whoami(svc.url, expired));
    expect(stale.byStatus).toEqual({ 401: 30 });
    const forged = `${issueToken(KEY, { subject: 'x' }).slice(0, -4)}AAAA`;
    const wrong = await tally(50, 5, () => whoami(svc.url, forged));
    expect(wrong.byStatus[429]).toBeGreaterThan(30);
    expect((await whoami(svc.url, issueToken(KEY, { subject: 'alice' }))).status).toBe(200);
  });
});
