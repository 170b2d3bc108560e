export { type Channel, type ChannelPayload, defineChannel } from './channel.js';
export { closestNames } from './closest-names.js';
export {
  type Affected,
  type ChangeKind,
  CONTRACT_FORMAT,
  CONTRACT_PROCEDURE,
  type ContractChange,
  type ContractDiff,
  type ContractDocument,
  type ContractEvents,
  type ContractProcedure,
  type ContractSource,
  diffContracts,
  type EventPayloadSource,
  exportContract,
  formatChange,
  type JsonSchema,
  type ProcedureKind,
  parseContract,
  type RenderOptions,
  renderContractMarkdown,
  SUPERJSON_KEY,
  sampleValue,
  toJsonSchema,
  typeOf,
  withContract,
} from './contract/index.js';
export { type CorbelErrorData, corbelErrorFormatter, type ValidationIssue } from './error-formatter.js';
export { CORBEL_ERROR_CODES, CorbelError, type CorbelErrorCode, isCorbelErrorCode } from './errors.js';
export { compareSeqIds, formatSeqId, newEpoch, parseResumeId, parseSeqId, type SeqId } from './event-id.js';
export type { EventLog, ReadOptions, Retention, StoredEvent } from './event-log.js';
export { createHub, type Hub, type HubHooks, type HubOptions, type SubscribeOptions } from './hub.js';
export { type CorbelInitOptions, initCorbel } from './init.js';
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
} from './subscription.js';
