/**
 * `@corbel/core/internal`: what Corbel's own packages (server, stores, CLI)
 * share and users should not build on. No semver promise: names here may
 * change in any release.
 */
export { closestNames } from './closest-names.js';
export { compareSeqIds, formatSeqId, newEpoch, parseResumeId, parseSeqId, type SeqId } from './event-id.js';
export { nextPublishKey, publishKeyOf, runWithPublishKeys } from './publish-key.js';
export {
  type BatchIterable,
  type EndReason,
  envelopeOf,
  HubSubscription,
  isBatchIterable,
  isReadyIterable,
  pullBatch,
  pullReady,
  type ReadyIterable,
  START_EVENT_ID,
} from './subscription.js';
export { checkSuperjsonInput, type SuperjsonDecodeSpent } from './superjson-budget.js';
export {
  adoptRouterConfig,
  isTrpcRouter,
  type ProcedureDef,
  type ProcedureFn,
  procedureDef,
  routerConfig,
  routerProcedures,
  routerRecord,
  trpcModuleInStack,
  trpcModuleOfRouter,
} from './trpc-def.js';
