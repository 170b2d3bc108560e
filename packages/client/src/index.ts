/**
 * `@corbel/client`: the typed client (`createCorbelClient`), its errors,
 * connection states, sessions, reverse-call handlers and TLS options. The
 * links and fetch wrappers it is built from stay inside the package.
 */

// Reads what a stream's id says: the event id, its delivery count and the drops before it.
export { parseDeliveryId } from '@corbel/core';
export type { AuthOptions } from './auth.js';
export { type CorbelClientOptions, createCorbelClient } from './client.js';
export {
  type AckInput,
  createDurableConsumer,
  type DurableConsumer,
  type DurableConsumerOptions,
  type DurableDelivery,
} from './durable-consumer.js';
export { corbelCodeOf, isHistoryGone, trpcCodeOf } from './errors.js';
export type { FailoverMode } from './failover.js';
export { IDEMPOTENCY_CONTEXT_KEY } from './links/idempotency-key-link.js';
export type { ConnectionState, StateChange } from './links/state-link.js';
export { type PollAnswer, type PolledEvent, type PollRequest, pollEvents } from './long-poll.js';
export type { MutationRetryOptions } from './mutation-retry.js';
export { createNodeFetch, type TlsClientOptions } from './node-fetch.js';
export {
  type HandlerEndpoint,
  type ReverseClient,
  type ServeHandlersOptions,
  serveHandlers,
} from './reverse/serve-handlers.js';
export { type CorbelSession, openSession, type SessionClient } from './session.js';
