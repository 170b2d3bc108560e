export { errorShape, mutationBody, queryInput, type RawResponse, rawRequest, resultData } from './http.js';
export { type StartedProcess, type StartOptions, startProcess } from './process.js';
export { openSse, type SseConnection, type SseFrame } from './sse.js';
export {
  runStoreConformance,
  type StoreConformanceOptions,
  type StoreFixture,
  type StoreFixtureOptions,
} from './store-conformance.js';
