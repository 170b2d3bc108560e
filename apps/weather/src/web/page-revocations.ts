import { CorbelError, defineChannel, type Hub } from '@corbel/core';
import { z } from 'zod';

/**
 * Ended page sessions, one event each in the station's own event log: a
 * channel like any other, so a revocation is as durable as a reading
 * (SQLite: survives a restart; Redis: seen by every station on it).
 */
export const revocationsChannel = defineChannel(
  'weather.page-revocations',
  z.object({ nonce: z.string().max(64), expiresAt: z.number() }),
);

export interface PageRevocations {
  /** True when the session with this nonce was ended (and its cookie has not expired anyway). */
  isRevoked(nonce: string): boolean;
  /** Ends a session for good: stored before it resolves. */
  revoke(nonce: string, expiresAt: number): Promise<void>;
  stop(): void;
}

/**
 * Loads every revocation still in force from the log, then follows the
 * channel so revocations made by other stations on the same store count
 * here too. A record is dropped once the cookie it names has expired.
 *
 * @example
 * const revocations = await loadPageRevocations(hub);
 * createPageSessions(token, { revocations });
 */
export async function loadPageRevocations(hub: Hub): Promise<PageRevocations> {
  const revoked = new Map<string, number>();
  const add = (nonce: string, expiresAt: number) => {
    if (expiresAt > Date.now()) revoked.set(nonce, expiresAt);
  };
  let after: string | undefined;
  for (;;) {
    const page = await hub.log.read(revocationsChannel.name, { after, limit: 1000 });
    for (const event of page) {
      const parsed = revocationsChannel.schema.safeParse(event.payload);
      if (parsed.success) add(parsed.data.nonce, parsed.data.expiresAt);
      after = event.id;
    }
    if (page.length < 1000) break;
  }
  const ac = new AbortController();
  void (async () => {
    while (!ac.signal.aborted) {
      try {
        for await (const [id, r] of await hub.subscribe(revocationsChannel, { after, signal: ac.signal })) {
          after = id;
          add(r.nonce, r.expiresAt);
        }
      } catch (error) {
        if (CorbelError.find(error)?.corbelCode === 'HISTORY_GONE') after = undefined;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  })();
  return {
    isRevoked(nonce) {
      const until = revoked.get(nonce);
      if (until === undefined) return false;
      if (until > Date.now()) return true;
      revoked.delete(nonce);
      return false;
    },
    async revoke(nonce, expiresAt) {
      await hub.publish(revocationsChannel, { nonce, expiresAt });
      add(nonce, expiresAt);
    },
    stop: () => ac.abort(),
  };
}
