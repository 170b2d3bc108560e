import { CorbelError } from '@corbel/core';

/**
 * Redis stream ids are the Corbel event ids of this store: `<ms>-<seq>`, both
 * unsigned 64-bit decimals, ordered by (ms, seq). Only the canonical spelling
 * Redis itself produces is accepted (no leading zeros, no signs), so two
 * spellings of one id can never compare differently from how Redis orders them.
 */
const STREAM_ID = /^(0|[1-9][0-9]{0,19})-(0|[1-9][0-9]{0,19})$/;
const U64_MAX = 18446744073709551615n;

/** True when `id` is a canonical Redis stream id. */
export function isStreamId(id: unknown): id is string {
  if (typeof id !== 'string' || id.length > 41) return false;
  const m = STREAM_ID.exec(id);
  if (!m) return false;
  // 20-digit parts may still overflow 64 bits.
  return (m[1]!.length < 20 || BigInt(m[1]!) <= U64_MAX) && (m[2]!.length < 20 || BigInt(m[2]!) <= U64_MAX);
}

/** Orders two canonical decimal strings without converting them to numbers. */
function compareDecimal(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Orders two stream ids (negative, zero, positive), throwing INVALID_EVENT_ID
 * for anything else. Hot path: called per event per subscriber.
 *
 * @example
 * compareStreamIds('1700000000000-1', '1700000000001-0') // < 0
 */
export function compareStreamIds(a: string, b: string): number {
  if (!isStreamId(a) || !isStreamId(b)) {
    throw new CorbelError('INVALID_EVENT_ID', `cannot compare ${short(a)} and ${short(b)}`);
  }
  const da = a.indexOf('-');
  const db = b.indexOf('-');
  return compareDecimal(a.slice(0, da), b.slice(0, db)) || compareDecimal(a.slice(da + 1), b.slice(db + 1));
}

/** The millisecond part of a stream id (when Redis accepted the event). */
export function streamIdMs(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

/** Shortens untrusted text before it goes into an error message. */
export function short(text: unknown, max = 40): string {
  const s = String(text);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
