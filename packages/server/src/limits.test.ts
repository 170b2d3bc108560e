import { describe, expect, it } from 'vitest';
import { IdentityCounter, RateLimiter } from './limits.js';

describe('RateLimiter', () => {
  it('allows the burst, then the sustained rate, and names the wait', () => {
    const rate = new RateLimiter(2, 3);
    const t = 1_000_000;
    expect([rate.take('a', t), rate.take('a', t), rate.take('a', t)]).toEqual([0, 0, 0]);
    expect(rate.take('a', t)).toBe(1);
    expect(rate.take('a', t + 500)).toBe(0);
    expect(rate.take('b', t)).toBe(0);
  });

  it('is off at 0 per second', () => {
    const rate = new RateLimiter(0, 0);
    for (let i = 0; i < 1000; i++) expect(rate.take('a')).toBe(0);
    expect(rate.size).toBe(0);
  });

  it('keeps its table bounded however many identities call', () => {
    const rate = new RateLimiter(10, 20, 1000);
    for (let i = 0; i < 50_000; i++) rate.take(`spoofed-${i}`, 1_000_000);
    expect(rate.size).toBeLessThanOrEqual(1000);
    // Idle, refilled buckets are forgotten.
    rate.take('late', 1_000_000 + 60_000);
    expect(rate.size).toBeLessThanOrEqual(2);
  });
});

describe('IdentityCounter', () => {
  it('hands out at most max slots per key and forgets keys at zero', () => {
    const counter = new IdentityCounter(2);
    expect([counter.acquire('a'), counter.acquire('a'), counter.acquire('a')]).toEqual([true, true, false]);
    expect(counter.acquire('b')).toBe(true);
    counter.release('a');
    expect(counter.acquire('a')).toBe(true);
    counter.release('a');
    counter.release('a');
    counter.release('b');
    expect(counter.size).toBe(0);
  });

  it('keeps its table bounded however many callers come and go', () => {
    const counter = new IdentityCounter(5);
    for (let i = 0; i < 50_000; i++) {
      counter.acquire(`caller-${i}`);
      counter.release(`caller-${i}`);
    }
    expect(counter.size).toBe(0);
    expect(counter.keys).toBeLessThanOrEqual(1025);
  });

  it('gives a swept key its full allowance again, and ignores a release without an acquire', () => {
    const counter = new IdentityCounter(1);
    counter.release('never');
    expect(counter.acquire('never')).toBe(true);
    expect(counter.acquire('never')).toBe(false);
    for (let i = 0; i < 3000; i++) {
      counter.acquire(`caller-${i}`);
      counter.release(`caller-${i}`);
    }
    counter.release('never');
    counter.release('never');
    expect([counter.acquire('never'), counter.acquire('never')]).toEqual([true, false]);
    expect(counter.size).toBe(1);
  });
});
