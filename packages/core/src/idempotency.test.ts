import { describe, expect, it } from 'vitest';
import { createMemoryIdempotency, idempotencyScope, inputFingerprint } from './idempotency.js';

describe('idempotency helpers', () => {
  it('fingerprints ignore key order but see every value', () => {
    expect(inputFingerprint({ a: 1, b: { c: 2, d: 3 } })).toBe(inputFingerprint({ b: { d: 3, c: 2 }, a: 1 }));
    expect(inputFingerprint({ a: 1 })).not.toBe(inputFingerprint({ a: 2 }));
    expect(inputFingerprint({ a: 1 })).not.toBe(inputFingerprint({ a: '1' }));
    expect(inputFingerprint(new Date(0))).not.toBe(inputFingerprint(new Date(1)));
    expect(inputFingerprint(new Set([1, 2]))).toBe(inputFingerprint(new Set([2, 1])));
    expect(inputFingerprint(1n)).not.toBe(inputFingerprint(1));
    expect(inputFingerprint(undefined)).not.toBe(inputFingerprint(null));
  });

  it('scopes separate identities and procedures', () => {
    const base = idempotencyScope('alice', 'weather.report', 'k1');
    expect(idempotencyScope('bob', 'weather.report', 'k1')).not.toBe(base);
    expect(idempotencyScope('alice', 'weather.other', 'k1')).not.toBe(base);
    // No ambiguity from joining: ("a\0b", "c") is not ("a", "b\0c").
    expect(idempotencyScope('a', 'b', 'c')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('the memory store drops its oldest records past maxRecords', async () => {
    const store = createMemoryIdempotency({ maxRecords: 3 });
    for (const s of ['a', 'b', 'c', 'd']) {
      const claim = await store.claim(s, 'f', 60_000);
      if (claim.state === 'claimed') await store.complete(s, claim.token, { status: 200, body: s });
    }
    expect((await store.claim('a', 'f', 60_000)).state).toBe('claimed');
    expect((await store.claim('d', 'f', 60_000)).state).toBe('done');
  });
});
