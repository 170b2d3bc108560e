import type { IncomingMessage } from 'node:http';

/** Who is calling, as an authenticator establishes it. */
export interface Identity {
  /** A stable id for the caller (user, service, token name): limits and logs are keyed by it. */
  id: string;
  /** When the credentials stop being valid (ms since the epoch); open event streams end then. */
  expiresAt?: number | undefined;
  /**
   * An operator: may use queries that show other callers (`session.list`).
   * Only an authenticator sets it (e.g. `staticTokenAuth({ operator: true })`); nothing defaults to it.
   */
  operator?: boolean | undefined;
  /** Anything else the authenticator knows (roles, scopes, tenant); handed to createContext and authorize. */
  claims?: Record<string, unknown> | undefined;
}

/**
 * Checks one request's credentials: an identity, or null when there are none
 * or they are not valid. Throw a CorbelError (TOKEN_EXPIRED, UNAUTHENTICATED)
 * to say precisely why.
 */
export type Authenticate = (req: IncomingMessage) => Identity | null | Promise<Identity | null>;

/**
 * The bearer token of a request (`Authorization: Bearer <token>`), or null.
 *
 * @example
 * const token = bearerTokenOf(req); // "s3cret" for "Authorization: Bearer s3cret"
 */
export function bearerTokenOf(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header);
  return match ? match[1]! : null;
}
