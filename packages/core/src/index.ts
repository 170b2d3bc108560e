/**
 * `@corbel/core`: channels, the hub, the event-log interface and the in-memory
 * log, sessions, errors and `initCorbel`. Contract tooling is in
 * `@corbel/core/contract`, so a client never loads it.
 */
export { type Channel, type ChannelPayload, defineChannel } from './channel.js';
export {
  type ConsumerPosition,
  type ConsumerPositions,
  consumerKey,
  createMemoryConsumerPositions,
  DEFAULT_CONSUMER_TOMBSTONE_MS,
  DEFAULT_CONSUMER_TTL_MS,
  type MemoryConsumerPositionsOptions,
} from './consumer-positions.js';
export { deliveryId, droppedId, parseDeliveryId } from './delivery-id.js';
export { DELIVERY_POLICIES, type DeliveryPolicy } from './delivery-policy.js';
export {
  createDurableConsumers,
  type DurableConsumerHooks,
  type DurableConsumers,
  type DurableConsumersOptions,
  type DurableSubscribeOptions,
} from './durable-consumers.js';
export { type CorbelErrorData, corbelErrorFormatter, type ValidationIssue } from './error-formatter.js';
export { CORBEL_ERROR_CODES, CorbelError, type CorbelErrorCode, isCorbelErrorCode } from './errors.js';
export type { AppendOnceResult, EventLog, ReadOptions, Retention, StoredEvent } from './event-log.js';
export {
  createHub,
  type Hub,
  type HubHooks,
  type HubOptions,
  type PublishOptions,
  type SubscribeOptions,
} from './hub.js';
export {
  createMemoryIdempotency,
  IDEMPOTENCY_DEFAULTS,
  type IdempotencyClaim,
  type IdempotencyStore,
  idempotencyScope,
  inputFingerprint,
  type MemoryIdempotencyOptions,
  newClaimToken,
  type RecordedResponse,
} from './idempotency.js';
export { type CorbelInitOptions, type CorbelTRPC, initCorbel } from './init.js';
export { createMemoryLog, type MemoryLogOptions } from './memory-log.js';
export {
  defineHandler,
  defineHandlers,
  type HandlerContext,
  type HandlerContract,
  type HandlerImplementation,
  type HandlerImplementations,
  type HandlerInput,
  type HandlerOutput,
  type HandlerPath,
  type HandlerSpec,
} from './reverse/define-handlers.js';
export {
  callsChannelName,
  REPLY_ERROR_CODES,
  type ReverseFrame,
  type ReverseReply,
  type ReverseResult,
  reverseFrameSchema,
  reverseReplySchema,
} from './reverse/reverse-wire.js';
export {
  createMemorySessions,
  isSessionId,
  type LiveSession,
  type MemorySessionsOptions,
  newSessionId,
  type SessionInfo,
  type SessionRegistry,
  sessionChannelName,
  sessionRef,
} from './session-registry.js';
export type { SharedLimitStore } from './shared-limits.js';
export {
  DEFAULT_SUPERJSON_DECODE_LIMITS,
  type SuperjsonDecodeLimits,
} from './superjson-budget.js';
export {
  matchChannels,
  parseWildcardToken,
  subscribeWildcard,
  type WildcardEvent,
  type WildcardOptions,
  wildcardToken,
} from './wildcard.js';
