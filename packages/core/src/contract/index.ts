export {
  CONTRACT_FORMAT,
  type ContractDocument,
  type ContractEvents,
  type ContractProcedure,
  type ProcedureKind,
  parseContract,
} from './contract-document.js';
export { CONTRACT_PROCEDURE, withContract } from './contract-router.js';
export {
  type Affected,
  type ChangeKind,
  type ContractChange,
  type ContractDiff,
  diffContracts,
  formatChange,
} from './diff-contracts.js';
export { type ContractSource, type EventPayloadSource, exportContract } from './export-contract.js';
export { type JsonSchema, SUPERJSON_KEY, type SuperjsonType, toJsonSchema } from './json-schema.js';
export { type RenderOptions, renderContractMarkdown, typeOf } from './render-markdown.js';
export { sampleValue } from './sample-value.js';
