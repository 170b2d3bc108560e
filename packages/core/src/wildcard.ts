import type { TrackedEnvelope } from '@trpc/server';
import { tracked } from '@trpc/server';
import type { z } from 'zod';
import type { Channel } from './channel.js';
import { CorbelError } from './errors.js';
import type { Hub } from './hub.js';
import { START_EVENT_ID } from './subscription.js';

/** One event of a wildcard subscription: which channel it came from, and its payload. */
export interface WildcardEvent<C extends Channel = Channel> {
  channel: C['name'];
  payload: z.output<C['schema']>;
}

export interface WildcardOptions {
  /** A resume token from this subscription's ids; omit for live events only. */
  after?: string | null | undefined;
  signal?: AbortSignal | undefined;
}

/** Events a wildcard subscription holds merged but not yet taken, before it stops reading its channels. */
const MERGE_BOUND = 256;

/**
 * The channels a pattern names: `weather.*` is every channel whose name
 * starts with `weather.`; a name without `*` is that channel alone.
 *
 * @example
 * matchChannels('weather.*', [readings, alerts, jobs]) // [readings, alerts]
 */
export function matchChannels<C extends Channel>(pattern: string, channels: readonly C[]): C[] {
  if (!pattern.endsWith('*')) return channels.filter((c) => c.name === pattern);
  const prefix = pattern.slice(0, -1);
  return channels.filter((c) => c.name.startsWith(prefix)).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The resume token of a wildcard subscription: every member channel's last
 * delivered id, `<channel>=<id>` joined by `,` (channels that have delivered
 * nothing yet are absent). Clients treat it as opaque.
 *
 * @example
 * wildcardToken(new Map([['weather.a', '4f2a91c0-3']])) // 'weather.a=4f2a91c0-3'
 */
export function wildcardToken(positions: ReadonlyMap<string, string>): string {
  return [...positions].map(([channel, id]) => `${channel}=${id}`).join(',');
}

/** Parses a wildcard token (INVALID_EVENT_ID when it is not one). */
export function parseWildcardToken(token: string): Map<string, string> {
  const positions = new Map<string, string>();
  if (token === '' || token === START_EVENT_ID) return positions;
  for (const part of token.split(',')) {
    const at = part.indexOf('=');
    if (at <= 0 || at === part.length - 1) {
      throw new CorbelError(
        'INVALID_EVENT_ID',
        `"${token.slice(0, 100)}" is not a resume token of a wildcard subscription`,
      );
    }
    positions.set(part.slice(0, at), part.slice(at + 1));
  }
  return positions;
}

/**
 * Subscribes to several channels as one stream with one resume token. Each
 * event is `tracked(<token>, { channel, payload })`, where the token covers
 * every member channel, so resuming with the last one misses nothing and
 * repeats nothing on any of them. Order: each channel's events in publish
 * order; across channels, in the order this server hands them out (live
 * events in publish order on this instance; a replay interleaves the
 * channels' backlogs as they are read). A member whose position is no longer
 * retained refuses the whole subscription with HISTORY_GONE naming it.
 *
 * @example
 * t.procedure
 *   .input(z.object({ lastEventId: z.string().optional() }))
 *   .subscription(({ input, signal }) => subscribeWildcard(hub, matchChannels('weather.*', channels), { after: input.lastEventId, signal }));
 */
export async function subscribeWildcard<C extends Channel>(
  hub: Hub,
  channels: readonly C[],
  opts: WildcardOptions = {},
): Promise<AsyncIterable<TrackedEnvelope<WildcardEvent<C>>>> {
  if (channels.length === 0)
    throw new CorbelError('INVALID_EVENT_ID', 'a wildcard subscription needs at least one channel');
  const resuming = opts.after != null;
  const positions = resuming ? parseWildcardToken(opts.after!) : new Map<string, string>();
  for (const name of positions.keys()) {
    if (!channels.some((c) => c.name === name)) {
      throw new CorbelError(
        'INVALID_EVENT_ID',
        `the resume token names ${name}, which this subscription does not cover`,
      );
    }
  }
  const inner = new AbortController();
  const onAbort = () => inner.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const subs = [];
  try {
    for (const channel of channels) {
      // A channel absent from a token had delivered nothing: everything it has retained follows.
      const after = positions.get(channel.name) ?? (resuming ? START_EVENT_ID : undefined);
      subs.push({ channel, sub: await hub.subscribe(channel, { after, signal: inner.signal }) });
    }
  } catch (error) {
    inner.abort();
    throw error;
  }

  const merged: { channel: string; id: string; payload: unknown }[] = [];
  let failure: Error | undefined;
  let running = subs.length;
  let wake: (() => void) | null = null;
  let room: (() => void)[] = [];
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  for (const { channel, sub } of subs) {
    void (async () => {
      try {
        for await (const [id, payload] of sub) {
          merged.push({ channel: channel.name, id, payload });
          notify();
          while (merged.length >= MERGE_BOUND && !inner.signal.aborted) {
            await new Promise<void>((resolve) => room.push(resolve));
          }
        }
      } catch (error) {
        failure ??= error as Error;
      } finally {
        running--;
        notify();
      }
    })();
  }

  async function* events(): AsyncGenerator<TrackedEnvelope<WildcardEvent<C>>> {
    try {
      for (;;) {
        const next = merged.shift();
        if (next) {
          const waiting = room;
          room = [];
          for (const resolve of waiting) resolve();
          positions.set(next.channel, next.id);
          yield tracked(wildcardToken(positions), {
            channel: next.channel,
            payload: next.payload,
          } as WildcardEvent<C>);
          continue;
        }
        if (failure) throw failure;
        if (running === 0) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      inner.abort();
      for (const resolve of room) resolve();
    }
  }
  return events();
}
