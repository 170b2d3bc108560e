export { createSessionRouter, type SessionRouterOptions } from './session-router.js';
export {
  createSessionService,
  type LiveSession,
  type SessionService,
  type SessionServiceOptions,
} from './session-service.js';
