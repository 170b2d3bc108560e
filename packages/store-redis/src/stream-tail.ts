import type { StoredEvent } from '@corbel/core';
import type { Redis } from 'ioredis';
import { toCorbelError } from './redis-errors.js';
import { compareStreamIds } from './redis-ids.js';

/** A stream entry as ioredis returns it: [id, [field, value, …]]. */
export type RawEntry = [id: string, fields: string[]];

export interface StreamTailOptions {
  /** Issues ordinary commands (start ids, CLIENT UNBLOCK). */
  commands: Redis;
  /** The one connection that blocks in XREAD; nothing else runs on it. */
  reader: Redis;
  keyOf(channel: string): string;
  decode(channel: string, entry: RawEntry): StoredEvent;
  /** Longest XREAD BLOCK (ms); new channels interrupt it with CLIENT UNBLOCK. */
  blockMs: number;
  /** Most entries per stream per XREAD. */
  count: number;
}

interface Listener {
  onEvent(event: StoredEvent): void;
  onError(error: Error): void;
}

interface Tailed {
  channel: string;
  key: string;
  /** The newest id delivered (or the start point); null until the start id is known. */
  lastId: string | null;
  listeners: Set<Listener>;
}

/**
 * Live delivery for every channel this process has subscribers on, through ONE
 * blocking `XREAD` on one dedicated connection: each reply carries the new
 * entries of all active channels, decoded once and handed to every listener
 * of the channel (the hub, which fans out to its subscribers). A Redis read per
 * subscriber never happens.
 *
 * A channel starts from the newest id that the command connection sees when
 * the channel becomes active. That query is queued on the command connection
 * before any replay read the new subscriber makes, so the tail starts at or
 * before the end of the replay: no gap; the subscriber drops the overlap by id.
 */
export class StreamTail {
  private readonly byKey = new Map<string, Tailed>();
  private closed = false;
  private running = false;
  /** Bumped whenever a channel becomes ready; an XREAD of an older generation is stale. */
  private generation = 0;
  private inFlight: number | null = null;
  private idle: (() => void) | null = null;
  private readerId: number | null = null;
  private unblocking = false;

  constructor(private readonly opts: StreamTailOptions) {
    opts.reader.on('close', () => {
      this.readerId = null;
    });
  }

  /** Registers a listener for `channel`; returns the function that removes it. */
  add(channel: string, onEvent: Listener['onEvent'], onError: Listener['onError']): () => void {
    if (this.closed) {
      queueMicrotask(() => onError(toCorbelError(new Error('Connection is closed.'), `tail ${channel}`)));
      return () => {};
    }
    const key = this.opts.keyOf(channel);
    const listener: Listener = { onEvent, onError };
    let tailed = this.byKey.get(key);
    if (!tailed) {
      const created: Tailed = { channel, key, lastId: null, listeners: new Set() };
      tailed = created;
      this.byKey.set(key, created);
      this.opts.commands.xrevrange(key, '+', '-', 'COUNT', 1).then(
        (entries) => {
          if (this.byKey.get(key) !== created) return;
          created.lastId = entries[0]?.[0] ?? '0-0';
          this.kick();
        },
        (error) => {
          if (this.byKey.get(key) !== created) return;
          this.fail(created, toCorbelError(error, `start the live feed of ${channel}`));
        },
      );
    }
    tailed.listeners.add(listener);
    this.ensureRunning();
    const owner = tailed;
    return () => {
      owner.listeners.delete(listener);
      // The next XREAD simply leaves the key out; no need to interrupt this one.
      if (owner.listeners.size === 0 && this.byKey.get(key) === owner) this.byKey.delete(key);
    };
  }

  /** Channels currently read, for stats and tests. */
  channels(): string[] {
    return [...this.byKey.values()].map((t) => t.channel);
  }

  close(): void {
    this.closed = true;
    this.byKey.clear();
    this.idle?.();
  }

  private fail(tailed: Tailed, error: Error) {
    if (this.byKey.get(tailed.key) === tailed) this.byKey.delete(tailed.key);
    for (const l of [...tailed.listeners]) l.onError(error);
    tailed.listeners.clear();
  }

  /** A channel became ready: wake the idle loop or interrupt the blocked XREAD. */
  private kick() {
    this.generation++;
    if (this.idle) {
      const wake = this.idle;
      this.idle = null;
      wake();
      return;
    }
    this.unblock(0);
  }

  private unblock(attempt: number) {
    if (this.unblocking || this.inFlight === null || this.inFlight === this.generation) return;
    const id = this.readerId;
    if (id === null) return;
    this.unblocking = true;
    this.opts.commands.client('UNBLOCK', id).then(
      (n) => {
        this.unblocking = false;
        // 0: the XREAD had not reached Redis yet; try again shortly while it is stale.
        if (Number(n) === 0 && attempt < 60)
          setTimeout(() => this.unblock(attempt + 1), Math.min(2 + 2 * attempt, 50));
      },
      () => {
        this.unblocking = false;
      },
    );
  }

  private ensureRunning() {
    if (this.running) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
    });
  }

  private async loop() {
    const { reader, count, blockMs } = this.opts;
    while (!this.closed) {
      const generation = this.generation;
      const ready = [...this.byKey.values()].filter((t) => t.lastId !== null);
      if (ready.length === 0) {
        if (this.byKey.size === 0) return; // nothing to tail: the next add() restarts the loop
        await new Promise<void>((resolve) => {
          this.idle = resolve;
        });
        continue;
      }
      let reply: [string, RawEntry[]][] | null;
      try {
        if (reader.status !== 'ready') await waitReady(reader, 2000);
        if (this.readerId === null) this.readerId = Number(await reader.client('ID'));
        // A channel became ready during those awaits: rebuild the key list first.
        if (generation !== this.generation) continue;
        // Set in the same turn as the XREAD is queued, so a later kick sees it as stale.
        this.inFlight = generation;
        const keys = ready.map((t) => t.key);
        const ids = ready.map((t) => t.lastId!);
        reply = (await reader.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', ...keys, ...ids)) as
          | [string, RawEntry[]][]
          | null;
      } catch (error) {
        this.inFlight = null;
        if (this.closed) return;
        // Every open stream ends with a retryable error; clients resume by id
        // (here or on another instance) once Redis answers again.
        const translated = toCorbelError(error, 'read the live feed');
        for (const t of ready) this.fail(t, translated);
        await waitReady(reader, 1000).catch(() => {});
        continue;
      }
      this.inFlight = null;
      if (!reply) continue;
      for (const [key, entries] of reply) {
        const tailed = this.byKey.get(key);
        if (!tailed || tailed.lastId === null) continue;
        for (const entry of entries) {
          if (compareStreamIds(entry[0], tailed.lastId) <= 0) continue;
          tailed.lastId = entry[0];
          const event = this.opts.decode(tailed.channel, entry);
          for (const l of tailed.listeners) l.onEvent(event);
        }
      }
    }
  }
}

/** Resolves once `redis` is ready, or rejects after `timeoutMs`. */
function waitReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error('Connection is closed.'));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}
