import { CorbelError } from '@corbel/core';

/** The longest key, in characters. */
export const MAX_KEY_LENGTH = 255;

/** One key: 1-255 visible ASCII characters (a UUID, a ULID, a hash...). */
const KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * The keys of a keyed mutation request, one per call, in call order, read
 * from its `Idempotency-Key` header (protocol.md §3.3):
 * - an unbatched call carries one key, exactly as before batches took keys
 *   (so a lone key may hold a comma);
 * - a batch of n calls carries n keys separated by commas, the i-th naming
 *   the i-th call: `Idempotency-Key: k0, k1, k2`. Keys of a batch hold no
 *   comma, and no two are the same.
 * Anything else throws a 400 BAD_REQUEST saying what is wrong.
 *
 * The work is bounded by the batch, not by the header: a header longer than
 * n keys can be is refused before it is split, so the worst case (the
 * largest batch with the longest keys) is one split and one set of n keys.
 *
 * @example
 * parseIdempotencyKeys('a1, b2', 2, true); // ['a1', 'b2']
 */
export function parseIdempotencyKeys(
  header: string | string[] | undefined,
  calls: number,
  isBatch: boolean,
): string[] {
  // Node joins repeated fields of this header with ", ": an array only comes from a hand-built request.
  const value = Array.isArray(header) ? header.join(', ') : header;
  if (value === undefined) throw invalid('Idempotency-Key is missing');
  if (!isBatch) {
    if (!KEY.test(value)) {
      throw invalid(`Idempotency-Key must be one value of 1-${MAX_KEY_LENGTH} visible ASCII characters`);
    }
    return [value];
  }
  // Each key, its comma and a little whitespace: anything longer cannot be n valid keys.
  if (value.length > calls * (MAX_KEY_LENGTH + 4)) {
    throw invalid(
      `Idempotency-Key is too long for a batch of ${calls} call${calls === 1 ? '' : 's'} (at most ${MAX_KEY_LENGTH} characters per key)`,
    );
  }
  const keys = value.split(',');
  if (keys.length !== calls) {
    throw invalid(
      `Idempotency-Key on a batch of ${calls} call${calls === 1 ? '' : 's'} needs ${calls} key${calls === 1 ? '' : 's'} separated by commas, one per call in order; it has ${keys.length}`,
    );
  }
  const seen = new Map<string, number>();
  for (let i = 0; i < keys.length; i++) {
    const key = trimOws(keys[i]!);
    if (key === '') throw invalid(`Idempotency-Key: the key of call ${i} is empty`);
    if (!KEY.test(key)) {
      throw invalid(
        `Idempotency-Key: the key of call ${i} must be 1-${MAX_KEY_LENGTH} visible ASCII characters other than a comma`,
      );
    }
    const first = seen.get(key);
    if (first !== undefined) {
      throw invalid(
        `Idempotency-Key: calls ${first} and ${i} have the same key; each call of a batch needs its own`,
      );
    }
    seen.set(key, i);
    keys[i] = key;
  }
  return keys;
}

/**
 * Drops the optional whitespace (spaces, tabs) around a list element (RFC
 * 9110 §5.6.1). A loop, not a regex: `[ \t]+$` backtracks quadratically on
 * a long run of spaces, and the header is the attacker's to choose.
 */
function trimOws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && (s[start] === ' ' || s[start] === '\t')) start++;
  while (end > start && (s[end - 1] === ' ' || s[end - 1] === '\t')) end--;
  return s.slice(start, end);
}

function invalid(message: string): CorbelError {
  return new CorbelError('BAD_REQUEST', message);
}
