import type { ReverseResult } from '@corbel/core';

/** Where one call stands on this client. */
export interface Remembered {
  /** The handler's answer (running until it settles). */
  result: Promise<ReverseResult>;
  /** "sent" once the server took the reply; "failed" when sending gave up (a redelivery resends). */
  reply: 'pending' | 'sent' | 'failed';
  /** Epoch ms after which the server will never deliver the call again. */
  until: number;
}

/**
 * The client's memory of calls by id: a call delivered again after a resume
 * is answered from here and never run twice. An entry lives until the call's
 * deadline (plus slack for clock skew): past it the server no longer
 * delivers the call. `max` bounds memory against a flood.
 *
 * @example
 * const memory = createResultMemory();
 * if (!memory.get(callId)) memory.set(callId, { result: runHandler(), reply: 'pending', until: deadline });
 */
export function createResultMemory(opts: { max?: number | undefined; slackMs?: number | undefined } = {}) {
  const max = opts.max ?? 100_000;
  const slackMs = opts.slackMs ?? 5 * 60_000;
  const entries = new Map<string, Remembered>();
  const prune = (now: number) => {
    for (const [id, entry] of entries) {
      // Insertion order is roughly deadline order; stop at the first live one unless over the bound.
      if (entry.until + slackMs > now && entries.size <= max) break;
      entries.delete(id);
    }
  };
  return {
    get(callId: string): Remembered | undefined {
      return entries.get(callId);
    },
    set(callId: string, entry: Remembered): void {
      prune(Date.now());
      entries.set(callId, entry);
    },
    get size() {
      return entries.size;
    },
  };
}
