import { CorbelError } from './errors.js';
import { compareSeqIds, formatSeqId, newEpoch, parseResumeId } from './event-id.js';
import type { EventLog, ReadOptions, Retention, StoredEvent } from './event-log.js';

export interface MemoryLogOptions {
  /** Retention per channel; default keeps the newest 10,000 events. */
  retention?: Retention | undefined;
  /** Overrides retention for single channels, by name. */
  channels?: Record<string, Retention> | undefined;
}

/** Most publish keys kept (the idempotency records' bound); past it the oldest go. */
const MAX_KEYS = 100_000;

interface ChannelState {
  /** Retained events, oldest first; `events[i]` has sequence `firstSeq + i`. */
  events: StoredEvent[];
  /** Sequence of the oldest retained event (head + 1 when empty). */
  firstSeq: number;
  /** Sequence of the newest event ever appended (0 when none). */
  headSeq: number;
}

/**
 * An in-memory event log with a retention bound: for tests, demos and
 * services that can lose history on restart. Its epoch changes with every
 * process, so a client resuming from an id of a previous run is told
 * HISTORY_GONE instead of silently missing events.
 *
 * @example
 * const hub = createHub({ log: createMemoryLog({ retention: { maxCount: 1000 } }) });
 */
export function createMemoryLog(opts: MemoryLogOptions = {}): EventLog & { readonly epoch: string } {
  const epoch = newEpoch();
  const channels = new Map<string, ChannelState>();
  let closed = false;
  // Publish keys → their event, oldest first (insertion order is age order).
  const keys = new Map<string, { event: StoredEvent; until: number }>();

  const retentionOf = (channel: string): Retention =>
    opts.channels?.[channel] ?? opts.retention ?? { maxCount: 10_000 };

  const state = (channel: string): ChannelState => {
    let s = channels.get(channel);
    if (!s) {
      s = { events: [], firstSeq: 1, headSeq: 0 };
      channels.set(channel, s);
    }
    return s;
  };

  const trim = (channel: string, s: ChannelState, now: number) => {
    const { maxCount, maxAgeMs } = retentionOf(channel);
    let drop = 0;
    if (maxCount !== undefined && s.events.length > maxCount) drop = s.events.length - maxCount;
    if (maxAgeMs !== undefined) {
      while (drop < s.events.length && now - s.events[drop]!.at > maxAgeMs) drop++;
    }
    if (drop > 0) {
      // Trim in chunks rather than shifting one at a time on every append.
      s.events.splice(0, drop);
      s.firstSeq += drop;
    }
  };

  const assertOpen = () => {
    if (closed) throw new CorbelError('CLOSED', 'the memory log is closed');
  };

  /** Sequence to start after; validates the id against epoch and retention. */
  const startSeq = (channel: string, s: ChannelState, after: string | undefined): number => {
    if (after === undefined) return s.firstSeq - 1;
    const seq = parseResumeId(after, epoch, channel);
    if (seq > s.headSeq) {
      throw new CorbelError(
        'INVALID_EVENT_ID',
        `event ${after} has not been published on channel ${channel}`,
      );
    }
    if (seq < s.firstSeq - 1) {
      throw new CorbelError(
        'HISTORY_GONE',
        `events after ${after} on channel ${channel} are no longer retained (oldest kept: ${formatSeqId(epoch, s.firstSeq)})`,
      );
    }
    return seq;
  };

  const append = (channel: string, payload: unknown): StoredEvent => {
    assertOpen();
    const s = state(channel);
    const seq = ++s.headSeq;
    const event: StoredEvent = { id: formatSeqId(epoch, seq), channel, payload, at: Date.now() };
    s.events.push(event);
    trim(channel, s, event.at);
    return event;
  };

  return {
    kind: 'memory',
    epoch,
    async append(channel, payload) {
      return append(channel, payload);
    },
    async appendOnce(channel, payload, key, ttlMs) {
      assertOpen();
      const now = Date.now();
      // Expired keys leave from the front (the oldest first).
      for (const [k, r] of keys) {
        if (r.until > now && keys.size <= MAX_KEYS) break;
        keys.delete(k);
      }
      const known = keys.get(key);
      if (known && known.until > now) return { event: known.event, duplicate: true };
      const event = append(channel, payload);
      keys.set(key, { event, until: now + ttlMs });
      return { event, duplicate: false };
    },
    async read(channel, { after, limit }: ReadOptions) {
      assertOpen();
      const s = state(channel);
      trim(channel, s, Date.now());
      const from = startSeq(channel, s, after) + 1;
      const start = from - s.firstSeq;
      return s.events.slice(start, start + limit);
    },
    async checkResumeId(channel, id) {
      assertOpen();
      const s = state(channel);
      trim(channel, s, Date.now());
      startSeq(channel, s, id);
    },
    compareIds: compareSeqIds,
    async latestId(channel) {
      const s = channels.get(channel);
      return s && s.headSeq > 0 ? formatSeqId(epoch, s.headSeq) : null;
    },
    async ping() {
      assertOpen();
    },
    async close() {
      closed = true;
      channels.clear();
      keys.clear();
    },
  };
}
