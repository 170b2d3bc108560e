// Defined in core (the CLI reads the same shape); still exported here, where it always was.
export type { LiveSession } from '@corbel/core';
export { createSessionRouter, type SessionRouterOptions } from './session-router.js';
export {
  createSessionService,
  type SessionService,
  type SessionServiceOptions,
} from './session-service.js';
