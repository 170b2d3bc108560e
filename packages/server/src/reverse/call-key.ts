import { createHash, randomBytes } from 'node:crypto';
import type { EventLog } from '@corbel/core';

const KEY_CHANNEL = 'corbel.reverse.key';

/**
 * The key call ids are signed with: from `secret` when given, else the first
 * key stored in the event log (this instance stores one when there is none).
 * Every instance on a shared log so agrees on the same key without configuration.
 *
 * @example
 * const key = await agreeCallKey(hub.log); // the same bytes on every instance of this log
 */
export async function agreeCallKey(log: EventLog, secret?: string | Buffer): Promise<Buffer> {
  if (secret !== undefined) return createHash('sha256').update(secret).digest();
  let first = await log.read(KEY_CHANNEL, { limit: 1 });
  if (first.length === 0) {
    await log.append(KEY_CHANNEL, { key: randomBytes(32).toString('hex') });
    first = await log.read(KEY_CHANNEL, { limit: 1 });
  }
  return Buffer.from((first[0]!.payload as { key: string }).key, 'hex');
}
