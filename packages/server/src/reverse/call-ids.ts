import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface CallIds {
  /** A new call id for `session`, naming the instance that waits for the answer. */
  mint(session: string): string;
  /** The instance waiting for `callId` when it was minted for `session` (by any instance sharing the key); null when forged or foreign. */
  verify(callId: string, session: string): string | null;
}

const CALL_ID = /^([0-9a-f]{16})\.([0-9a-f]{24})\.([0-9a-f]{32})$/;

/**
 * Call ids that prove who they were addressed to: `<instance>.<random>.<mac>`,
 * the MAC over session, instance and random under a key every instance
 * shares. Any instance can then check a reply without asking the one that
 * made the call, and a client cannot answer a call it was never sent (it would
 * have to forge the MAC for its own session).
 *
 * @example
 * const ids = createCallIds(key, instanceId);
 * const id = ids.mint(sessionId); ids.verify(id, sessionId); // → instanceId
 */
export function createCallIds(key: Buffer, instance: string): CallIds {
  const mac = (session: string, inst: string, rand: string) =>
    createHmac('sha256', key).update(`${session}.${inst}.${rand}`).digest('hex').slice(0, 32);
  return {
    mint(session) {
      const rand = randomBytes(12).toString('hex');
      return `${instance}.${rand}.${mac(session, instance, rand)}`;
    },
    verify(callId, session) {
      const m = CALL_ID.exec(callId);
      if (!m) return null;
      const [, inst, rand, given] = m as unknown as [string, string, string, string];
      const expected = Buffer.from(mac(session, inst, rand));
      return timingSafeEqual(expected, Buffer.from(given)) ? inst : null;
    },
  };
}

/**
 * A random instance id (16 hex characters), part of every call id the instance mints.
 *
 * @example
 * const ids = createCallIds(key, newInstanceId());
 */
export function newInstanceId(): string {
  return randomBytes(8).toString('hex');
}
