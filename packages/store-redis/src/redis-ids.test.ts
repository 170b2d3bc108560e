import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toCorbelError } from './redis-errors.js';
import { compareStreamIds, isStreamId, streamIdMs } from './redis-ids.js';

const U64 = fc.bigInt({ min: 0n, max: 18446744073709551615n });

describe('stream ids', () => {
  it('orders ids exactly as Redis does: by ms, then seq, as unsigned 64-bit numbers', () => {
    fc.assert(
      fc.property(U64, U64, U64, U64, (am, as, bm, bs) => {
        const a = `${am}-${as}`;
        const b = `${bm}-${bs}`;
        const expected = am === bm ? Math.sign(Number(as - bs)) : am < bm ? -1 : 1;
        expect(Math.sign(compareStreamIds(a, b))).toBe(expected);
      }),
    );
  });

  it.each([
    '',
    '-1',
    '1',
    '1-',
    '-0',
    '01-0',
    '1-01',
    '+1-0',
    '1.5-0',
    'ffffffff-0',
    '18446744073709551616-0',
    '1-18446744073709551616',
    `${'9'.repeat(30)}-0`,
  ])('rejects %j', (bad) => {
    expect(isStreamId(bad)).toBe(false);
    expect(() => compareStreamIds(bad, '1-0')).toThrow(/cannot compare/);
  });

  it('reads the millisecond part', () => {
    expect(streamIdMs('1732240000000-7')).toBe(1732240000000);
    expect(isStreamId('18446744073709551615-18446744073709551615')).toBe(true);
  });
});

describe('redis errors', () => {
  it('turns "Redis cannot serve" into the retryable STORE_UNAVAILABLE and a wrong key type into STORE_CORRUPT', () => {
    for (const message of [
      'connect ECONNREFUSED 127.0.0.1:6379',
      "Stream isn't writeable and enableOfflineQueue options is false",
      'Connection is closed.',
      'Command timed out',
      'LOADING Redis is loading the dataset in memory',
      'MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk',
    ]) {
      const e = toCorbelError(new Error(message), 'publish on c');
      expect(e.corbelCode, message).toBe('STORE_UNAVAILABLE');
      expect(e.retryable).toBe(true);
      expect(e.code).toBe('SERVICE_UNAVAILABLE');
    }
    const wrong = toCorbelError(
      new Error('WRONGTYPE Operation against a key holding the wrong kind of value'),
      'read channel c',
    );
    expect(wrong.corbelCode).toBe('STORE_CORRUPT');
  });
});
