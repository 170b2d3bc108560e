/**
 * Issue 15, finding 1: a superjson body under 1 MiB (a 60,000-entry Map with
 * 20,000 annotations near its end) blocked the event loop for 7.5 s, a Set
 * past 15 s, because superjson walks the collection from its start for each
 * annotation and the server decoded before zod with only the byte limit as a
 * bound. Every place the server decodes superjson is now checked against one
 * budget per request: single calls, batches and stream inputs.
 * (The station-level run with /healthz is in tests/security/hostile.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { startSecurityService } from '../security/fixture.js';
import { collectionBomb, corbelCodeOf, timedRequest } from '../security/round-two-attacks.js';

/** A Set of `n` numbers with `lookups` referential-equality paths near its end: within budget alone. */
function setLookups(n: number, lookups: number) {
  const equalities: Record<string, string[]> = {};
  for (let i = 0; i < lookups; i++) equalities[`s.${n - 1 - i}`] = [`x${i}`];
  return {
    json: { s: Array.from({ length: n }, (_, i) => i) },
    meta: { values: { s: ['set'] }, referentialEqualities: equalities },
  };
}

describe('bounded superjson decoding', () => {
  it('refuses the Map and Set bombs with 400 INPUT_TOO_COMPLEX in milliseconds', async () => {
    await using svc = await startSecurityService();
    for (const kind of ['map', 'set'] as const) {
      const answer = await timedRequest(`${svc.url}/rpc/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: collectionBomb(kind, 60_000, 18_000),
      });
      expect(answer.status).toBe(400);
      expect(corbelCodeOf(answer.text)).toBe('INPUT_TOO_COMPLEX');
      expect(answer.ms).toBeLessThan(1000);
    }
  });

  it('gives a batch one budget, not one per call', async () => {
    await using svc = await startSecurityService();
    // ~1.3 M steps each: one passes, two together pass the 2 M budget.
    const one = setLookups(5000, 270);
    const single = await timedRequest(`${svc.url}/rpc/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(one),
    });
    // Decoded, then refused by zod (it is not a publish input): not over the budget.
    expect(single.status).toBe(400);
    expect(corbelCodeOf(single.text)).not.toBe('INPUT_TOO_COMPLEX');
    const body = JSON.stringify({ 0: one, 1: one });
    const both = await timedRequest(`${svc.url}/rpc/publish,publish?batch=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(both.status).toBe(400);
    expect(both.text).toContain('INPUT_TOO_COMPLEX');
  });

  it('checks stream inputs before the stream opens', async () => {
    await using svc = await startSecurityService();
    const bomb = collectionBomb('set', 300, 50);
    const answer = await timedRequest(`${svc.url}/rpc/ticks?input=${encodeURIComponent(bomb)}`, {
      headers: { accept: 'text/event-stream' },
    });
    expect(answer.status).toBe(400);
    expect(corbelCodeOf(answer.text)).toBe('INPUT_TOO_COMPLEX');
  });
});
