export type { StreamEndReason, StreamHooks, StreamInfo } from './serve/event-stream.js';
export type { CreateContextOptions, OnErrorOptions } from './serve/handle-request.js';
export {
  type CorbelServer,
  type CorbelServerOptions,
  createCorbelServer,
  type ListenOptions,
} from './server.js';
