import type { IncomingMessage } from 'node:http';
import { CorbelError } from '@corbel/core';
import type { Identity } from './auth/authenticate.js';
import type { ProcedureType } from './serve/trpc-bridge.js';

/** What an authorization rule sees. */
export interface AuthorizeRequest {
  /** The caller (null when the server runs without authentication). */
  identity: Identity | null;
  /** The procedure, e.g. "weather.report" or the channel subscription "weather.readings". */
  path: string;
  type: ProcedureType;
  /**
   * The decoded input (superjson applied, before the procedure's own zod
   * validation): the command's arguments, or the subscription's filter and
   * resume id.
   */
  input: unknown;
  req: IncomingMessage;
}

/** True (or undefined) allows; false refuses with FORBIDDEN; throwing refuses with that error. */
export type AuthorizeRule = (request: AuthorizeRequest) => boolean | undefined | Promise<boolean | undefined>;

/**
 * One rule for everything, or rules per procedure path with `"*"` for the rest.
 * A procedure with no rule (and no `"*"`) is allowed for any authenticated caller.
 */
export type AuthorizeOption = AuthorizeRule | Record<string, AuthorizeRule>;

/**
 * Builds the check the serving path runs before every command and every
 * subscription, after authentication and before the procedure.
 *
 * @example
 * const check = authorizer({ 'weather.report': ({ identity }) => identity?.claims?.role === 'station' });
 */
export function authorizer(option: AuthorizeOption): (request: AuthorizeRequest) => Promise<void> {
  const ruleFor =
    typeof option === 'function'
      ? () => option
      : (path: string) => (Object.hasOwn(option, path) ? option[path] : option['*']);
  return async (request) => {
    const rule = ruleFor(request.path);
    if (!rule) return;
    const verdict = await rule(request);
    if (verdict === false) {
      const who = request.identity ? `"${request.identity.id}"` : 'an anonymous caller';
      const what = request.type === 'subscription' ? 'subscribe to' : 'call';
      throw new CorbelError('FORBIDDEN', `${who} may not ${what} ${request.path} with this input`);
    }
  };
}
