import { CorbelError } from '@corbel/core';
import { describe, expect, it } from 'vitest';
import { MAX_KEY_LENGTH, parseIdempotencyKeys } from './idempotency-keys.js';

/** The refusal `parse` throws: a CorbelError BAD_REQUEST, with its message. */
function refusal(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(CorbelError);
    expect((error as CorbelError).code).toBe('BAD_REQUEST');
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('parseIdempotencyKeys', () => {
  it('an unbatched call takes one key, as before batches took keys (a comma included)', () => {
    expect(parseIdempotencyKeys('7d0c9a52-5a4e-4c43-9a53-1f1f3f0c2b8e', 1, false)).toEqual([
      '7d0c9a52-5a4e-4c43-9a53-1f1f3f0c2b8e',
    ]);
    expect(parseIdempotencyKeys('a,b', 1, false)).toEqual(['a,b']);
    expect(parseIdempotencyKeys('x'.repeat(MAX_KEY_LENGTH), 1, false)).toHaveLength(1);
    expect(refusal(() => parseIdempotencyKeys('', 1, false))).toMatch(/one value of 1-255/);
    expect(refusal(() => parseIdempotencyKeys('a, b', 1, false))).toMatch(/one value/);
    expect(refusal(() => parseIdempotencyKeys('x'.repeat(256), 1, false))).toMatch(/1-255/);
    expect(refusal(() => parseIdempotencyKeys('é', 1, false))).toMatch(/visible ASCII/);
  });

  it('a batch takes one key per call, in order, around optional spaces and tabs', () => {
    expect(parseIdempotencyKeys('k0,k1,k2', 3, true)).toEqual(['k0', 'k1', 'k2']);
    expect(parseIdempotencyKeys('k0, k1 ,\tk2', 3, true)).toEqual(['k0', 'k1', 'k2']);
    expect(parseIdempotencyKeys('only', 1, true)).toEqual(['only']);
    // Node joins repeated header fields with ", ": two fields are two keys.
    expect(parseIdempotencyKeys(['k0', 'k1'], 2, true)).toEqual(['k0', 'k1']);
  });

  it('a wrong count, an empty key, a bad key and a repeated key are each refused, saying which', () => {
    expect(refusal(() => parseIdempotencyKeys('k0,k1', 3, true))).toMatch(
      /batch of 3 calls needs 3 keys.*has 2/,
    );
    expect(refusal(() => parseIdempotencyKeys('k0,k1,k2,k3', 3, true))).toMatch(/has 4/);
    expect(refusal(() => parseIdempotencyKeys('k0,,k2', 3, true))).toMatch(/call 1 is empty/);
    expect(refusal(() => parseIdempotencyKeys('k0,k1,', 3, true))).toMatch(/call 2 is empty/);
    expect(refusal(() => parseIdempotencyKeys('k0,k 1,k2', 3, true))).toMatch(/call 1 must be 1-255 visible/);
    expect(refusal(() => parseIdempotencyKeys(`k0,${'x'.repeat(256)}`, 2, true))).toMatch(/call 1 must be/);
    expect(refusal(() => parseIdempotencyKeys('k0,k1,k0', 3, true))).toMatch(
      /calls 0 and 2 have the same key/,
    );
    expect(refusal(() => parseIdempotencyKeys('k0, k0', 2, true))).toMatch(/calls 0 and 1/);
  });

  it('the worst header under the limits is parsed; a longer one is refused before it is split', () => {
    const calls = 50;
    const longest = Array.from({ length: calls }, (_, i) => String(i).padStart(MAX_KEY_LENGTH, 'k'));
    expect(parseIdempotencyKeys(longest.join(', '), calls, true)).toEqual(longest);
    // A header past what n keys can be: refused by its length, whatever it holds.
    const padded = `k0,${' '.repeat(calls * (MAX_KEY_LENGTH + 4))}k1`;
    expect(refusal(() => parseIdempotencyKeys(padded, 2, true))).toMatch(/too long for a batch of 2 calls/);
    // Commas alone: the count is wrong, found from one split.
    expect(refusal(() => parseIdempotencyKeys(','.repeat(calls * 200), calls, true))).toMatch(
      /needs 50 keys/,
    );
  });

  it('long runs of whitespace inside the bound cost a linear trim, not a backtracking regex', () => {
    // One element of ~13,000 spaces between two keys: a `[ \t]+$` trim would take O(n²) steps.
    const calls = 50;
    const spaces = ' '.repeat(calls * 250);
    const header = `a${spaces}b,${Array.from({ length: calls - 1 }, (_, i) => `k${i}`).join(',')}`;
    expect(refusal(() => parseIdempotencyKeys(header, calls, true))).toMatch(/call 0 must be/);
  });
});
