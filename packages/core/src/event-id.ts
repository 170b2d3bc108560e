import { randomBytes } from 'node:crypto';
import { CorbelError } from './errors.js';
import { START_EVENT_ID } from './subscription.js';

/**
 * Ids of the embedded logs (memory, SQLite): `<epoch>-<seq>`. The epoch is
 * fixed when a log is created (8 hex chars), the sequence counts per channel
 * from 1. Clients treat ids as opaque; the epoch lets a log tell "an id from a
 * history I never had" (a wiped store, a restarted memory log) from "an id I
 * have simply trimmed", so neither turns into silent loss.
 */
export interface SeqId {
  epoch: string;
  seq: number;
}

const SEQ_ID = /^([0-9a-f]{8})-([1-9][0-9]{0,15})$/;

/** A fresh random epoch for a new log. */
export function newEpoch(): string {
  return randomBytes(4).toString('hex');
}

/** Formats an id from its parts. */
export function formatSeqId(epoch: string, seq: number): string {
  return `${epoch}-${seq}`;
}

/** Parses an id, or returns null when it is not one. */
export function parseSeqId(id: string): SeqId | null {
  if (typeof id !== 'string' || id.length > 26) return null;
  const m = SEQ_ID.exec(id);
  if (!m) return null;
  const seq = Number(m[2]);
  if (!Number.isSafeInteger(seq)) return null;
  return { epoch: m[1]!, seq };
}

/**
 * Parses a resume id against a log's epoch: garbage is INVALID_EVENT_ID, an id
 * of another epoch is HISTORY_GONE. The start cursor is sequence 0 of every
 * epoch (before the first event), so a log answers HISTORY_GONE for it once
 * it has trimmed any event of the channel.
 */
export function parseResumeId(id: string, epoch: string, channel: string): number {
  if (id === START_EVENT_ID) return 0;
  const parsed = parseSeqId(id);
  if (!parsed) {
    throw new CorbelError('INVALID_EVENT_ID', `"${truncate(id)}" is not an event id of channel ${channel}`);
  }
  if (parsed.epoch !== epoch) {
    throw new CorbelError(
      'HISTORY_GONE',
      `event ${id} belongs to a history this server no longer has (channel ${channel}); resync and subscribe afresh`,
    );
  }
  return parsed.seq;
}

/** Compares two ids of the same epoch by sequence. */
export function compareSeqIds(a: string, b: string): number {
  const pa = parseSeqId(a);
  const pb = parseSeqId(b);
  if (!pa || !pb)
    throw new CorbelError('INVALID_EVENT_ID', `cannot compare ${truncate(a)} and ${truncate(b)}`);
  return pa.seq - pb.seq;
}

/** Shortens untrusted text before it goes into an error message. */
export function truncate(text: unknown, max = 40): string {
  const s = String(text);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
