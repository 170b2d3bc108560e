import { TRPCClientError } from '@trpc/client';

/** Corbel's code on a client error (HISTORY_GONE, SLOW_CONSUMER, …), or null. */
export function corbelCodeOf(error: unknown): string | null {
  if (!(error instanceof TRPCClientError)) return null;
  const data = error.data as { corbelCode?: unknown } | undefined;
  return typeof data?.corbelCode === 'string' ? data.corbelCode : null;
}

/** The tRPC code on a client error (BAD_REQUEST, UNAUTHORIZED, …), or null for transport failures. */
export function trpcCodeOf(error: unknown): string | null {
  if (!(error instanceof TRPCClientError)) return null;
  const data = error.data as { code?: unknown } | undefined;
  return typeof data?.code === 'string' ? data.code : null;
}

/**
 * True when a subscription ended because its resume id is older than the
 * server's retained history. The app should resync (e.g. call a "latest"
 * query) and subscribe again without an id.
 *
 * @example
 * try { for await (const r of client.weather.readings.subscribe({ lastEventId })) show(r); }
 * catch (e) { if (isHistoryGone(e)) await resync(); }
 */
export function isHistoryGone(error: unknown): boolean {
  return corbelCodeOf(error) === 'HISTORY_GONE';
}

/**
 * The server's verdict on a client error (`data.retryable`, protocol.md
 * section 6.1): whether a new attempt can succeed; undefined when the error
 * carries none (a transport failure, a server that is not Corbel's).
 */
export function retryableOf(error: unknown): boolean | undefined {
  if (!(error instanceof TRPCClientError)) return undefined;
  const data = error.data as { retryable?: unknown } | undefined;
  return typeof data?.retryable === 'boolean' ? data.retryable : undefined;
}
