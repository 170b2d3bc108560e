export {
  type ConsumerConformanceOptions,
  type ConsumerFixture,
  runConsumerConformance,
} from './consumer-conformance.js';
export {
  type Fault,
  type FaultProxy,
  type FaultProxyOptions,
  seededRandom,
  startFaultProxy,
} from './fault-proxy.js';
export { freePort } from './free-port.js';
export { errorShape, mutationBody, queryInput, type RawResponse, rawRequest, resultData } from './http.js';
export {
  type IdempotencyConformanceOptions,
  type IdempotencyFixture,
  runIdempotencyConformance,
} from './idempotency-conformance.js';
export { type BufferingNginx, findNginx, requireNginx, startBufferingNginx } from './nginx.js';
export { isRunning, type StartedProcess, type StartOptions, startProcess } from './process.js';
export {
  hasRedisServer,
  type RedisServer,
  type RedisServerOptions,
  requireRedisServer,
  startRedisServer,
} from './redis-server.js';
export { makeSelfSignedCert, requireOpenssl, type SelfSignedCert } from './self-signed-cert.js';
export {
  type CommandCall,
  runServerConformance,
  type ServerConformanceOptions,
  type ServerUnderTest,
} from './server-conformance.js';
export {
  runSessionConformance,
  type SessionConformanceOptions,
  type SessionFixture,
} from './session-conformance.js';
export { openSse, type SseConnection, type SseFrame } from './sse.js';
export {
  runStoreConformance,
  type StoreConformanceOptions,
  type StoreFixture,
  type StoreFixtureOptions,
} from './store-conformance.js';
export { type UntilOptions, until } from './until.js';
