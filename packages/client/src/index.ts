export type { AuthOptions } from './auth.js';
export { type CorbelClientOptions, createCorbelClient } from './client.js';
export { corbelCodeOf, isHistoryGone, trpcCodeOf } from './errors.js';
export { eventSourceFetch } from './event-source-fetch.js';
export {
  createInstancePool,
  type FailoverMode,
  failoverFetch,
  type InstancePool,
  isRetrySafe,
} from './failover.js';
export { type AutoTransportLinkOptions, autoTransportLink } from './links/auto-transport-link.js';
export {
  IDEMPOTENCY_CONTEXT_KEY,
  idempotencyKeyLink,
  idempotencyKeyOf,
} from './links/idempotency-key-link.js';
export { type LongPollLinkOptions, longPollLink } from './links/long-poll-link.js';
export type { ConnectionState, StateChange } from './links/state-link.js';
export { type PollAnswer, type PolledEvent, type PollRequest, pollEvents } from './long-poll.js';
export { type MutationRetryOptions, mutationRetryFetch } from './mutation-retry.js';
export { createNodeFetch, type TlsClientOptions } from './node-fetch.js';
export { backoffMs, shouldReconnect } from './retry-policy.js';
export {
  type HandlerEndpoint,
  type ReverseClient,
  type ServeHandlersOptions,
  serveHandlers,
} from './reverse/serve-handlers.js';
export { type CorbelSession, openSession, type SessionClient } from './session.js';
