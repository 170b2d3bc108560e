import { TRPCClientError } from '@trpc/client';
import superjson from 'superjson';
import { type AuthOptions, authHeaders } from './auth.js';
import { retryAfterMsOfResponse, withRetryAfter } from './retry-policy.js';

/** One event of a long-poll answer, its data decoded. */
export interface PolledEvent {
  id: string | undefined;
  data: unknown;
}

/** A long-poll answer (protocol.md section 4.4). */
export interface PollAnswer {
  events: PolledEvent[];
  /** The id to send with the next poll (null: none yet). */
  lastEventId: string | null;
  more: boolean;
  done: boolean;
}

export interface PollRequest {
  /** The RPC base URL, e.g. http://127.0.0.1:4000/rpc. */
  url: string;
  path: string;
  input: unknown;
  lastEventId: string | null | undefined;
  waitMs: number;
  signal?: AbortSignal | undefined;
}

/**
 * Sends one long poll and decodes its answer. A refusal or failure of the
 * server throws a TRPCClientError carrying the server's error (code, Corbel
 * data), a network failure throws a TRPCClientError around it: the same
 * errors an event stream reports, so the same retry policy applies.
 *
 * @example
 * const { events, lastEventId } = await pollEvents(fetch, {}, { url, path: 'weather.readings', input: {}, lastEventId: id, waitMs: 25_000 });
 */
export async function pollEvents(
  fetchFn: typeof fetch,
  auth: AuthOptions,
  req: PollRequest,
): Promise<PollAnswer> {
  const { input, lastEventId } = req;
  // The cursor rides in the query, where the server reads it before the input's own member.
  let rest = input;
  if (input !== null && typeof input === 'object' && 'lastEventId' in input) {
    const copy: Record<string, unknown> = { ...(input as Record<string, unknown>) };
    delete copy.lastEventId;
    rest = copy;
  }
  let query =
    rest === undefined ? '' : `input=${encodeURIComponent(JSON.stringify(superjson.serialize(rest)))}&`;
  query += `longPoll=1&wait=${req.waitMs}`;
  if (lastEventId) query += `&lastEventId=${encodeURIComponent(lastEventId)}`;
  let body: any;
  let ok = false;
  let retryAfterMs: number | undefined;
  try {
    const res = await fetchFn(`${req.url}/${req.path}?${query}`, {
      headers: await authHeaders(auth),
      signal: req.signal ?? null,
    });
    ok = res.ok;
    retryAfterMs = retryAfterMsOfResponse(res);
    body = await res.json().catch(() => {
      throw new Error(`HTTP ${res.status}: the answer is not JSON`);
    });
  } catch (cause) {
    throw TRPCClientError.from(cause as Error);
  }
  if (!ok || body?.error) {
    if (body?.error) {
      // The poll loop waits at least the server's Retry-After before the next poll.
      withRetryAfter(body.error, retryAfterMs);
      throw TRPCClientError.from({ error: superjson.deserialize(body.error) as any });
    }
    throw TRPCClientError.from(new Error('the long poll answer has no result'));
  }
  return decodePollData(body?.result?.data);
}

/**
 * Decodes the `data` document of a long-poll answer (also what a command's
 * `corbel-events` header carries, protocol.md section 4.5).
 *
 * @example
 * const { events } = decodePollData(JSON.parse(Buffer.from(header, 'base64url').toString('utf8')));
 */
export function decodePollData(data: any): PollAnswer {
  if (!data || !Array.isArray(data.events)) {
    throw TRPCClientError.from(new Error('the long poll answer is malformed'));
  }
  return {
    events: data.events.map((e: { id?: unknown; data: unknown }) => ({
      id: typeof e.id === 'string' ? e.id : undefined,
      data: superjson.deserialize(e.data as any),
    })),
    lastEventId: typeof data.lastEventId === 'string' ? data.lastEventId : null,
    more: data.more === true,
    done: data.done === true,
  };
}
