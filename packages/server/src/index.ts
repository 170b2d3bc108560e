export {
  type Authenticate,
  bearerTokenOf,
  type Identity,
  type IssueTokenOptions,
  issueToken,
  type StaticTokenOptions,
  signedTokenAuth,
  staticTokenAuth,
  type TokenClaims,
  type VerifyTokenOptions,
  verifyToken,
} from './auth/index.js';
export { type AuthorizeOption, type AuthorizeRequest, type AuthorizeRule, authorizer } from './authorize.js';
export { type ClientAddressOf, clientAddressReader } from './client-address.js';
export {
  type ConsumerRouterOptions,
  consumerNameSchema,
  createConsumerRouter,
  MAX_ACK_IDS,
} from './consumers/consumer-router.js';
export { type CorsOptions, createCors } from './cors.js';
export {
  IDEMPOTENCY_HEADER,
  type IdempotencyOptions,
  REPLAYED_HEADER,
} from './idempotency/serve-idempotent.js';
export { DEFAULT_LIMITS, type LimitKind, type Limits } from './limits.js';
export { type CorbelLogger, silentLogger } from './logger.js';
export {
  type AuthRefusal,
  type CorbelMetrics,
  type CorbelMetricsOptions,
  createCorbelMetrics,
} from './metrics.js';
export { requestIdOf } from './request-id.js';
export { createReverseRouter, type ReverseRouterOptions } from './reverse/reverse-router.js';
export { createReverseService } from './reverse/reverse-service.js';
export type {
  CallManyOptions,
  CallOptions,
  ReverseHandle,
  ReverseService,
  ReverseServiceOptions,
  SettledCall,
} from './reverse/reverse-types.js';
export type { Settled } from './reverse/settle-all.js';
export type { StreamEndReason, StreamHooks, StreamInfo } from './serve/event-stream.js';
export type { CreateContextOptions, OnErrorOptions } from './serve/types.js';
export {
  type CorbelServer,
  type CorbelServerOptions,
  createCorbelServer,
  type ListenOptions,
} from './server.js';
export {
  createSessionRouter,
  createSessionService,
  type LiveSession,
  type SessionRouterOptions,
  type SessionService,
  type SessionServiceOptions,
} from './sessions/index.js';
export type { SharedLimitStore } from './shared-limits.js';
