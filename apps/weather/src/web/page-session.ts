import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { PageRevocations } from './page-revocations.js';

/** The cookie that carries a page session (HttpOnly, so page scripts never see it). */
export const SESSION_COOKIE = 'corbel_weather_session';

export interface PageSessions {
  /** How long a session cookie lives, in seconds. */
  readonly ttlSeconds: number;
  /**
   * A `Set-Cookie` value for a new session, or — when the request carries a
   * valid one — the same session with a later expiry.
   */
  issue(req: IncomingMessage): { cookie: string; expiresAt: number };
  /** A `Set-Cookie` value that removes the session cookie. */
  clear(req: IncomingMessage): string;
  /**
   * Ends the request's session server-side (a revocation stored until the
   * cookie would have expired): a copy of the cookie is refused from now on,
   * refresh included. Resolves false when the request carries no valid session.
   */
  end(req: IncomingMessage): Promise<boolean>;
  /**
   * True when the request carries a valid, unexpired session cookie and does
   * not come from another origin (a cross-site request never carries a
   * SameSite=Strict cookie; the Origin check is a second lock on the door).
   */
  accepts(req: IncomingMessage): boolean;
  /**
   * The identity of a valid session (an `authenticate` for createCorbelServer):
   * `page:<session nonce>`, so limits count each browser on its own, and the
   * cookie's expiry, so the server ends its streams then; null otherwise.
   */
  identify(req: IncomingMessage): { id: string; expiresAt: number } | null;
}

/**
 * Page sessions for a station that runs with `--token`. EventSource cannot
 * send an Authorization header and a token in a URL ends up in logs and
 * history, so the page trades the token once (POST /session) for a
 * short-lived HttpOnly, SameSite=Strict cookie that the browser then sends on
 * every command and every stream (re)connect.
 *
 * The cookie is `v1.<expiresAtMs>.<nonce>.<mac>`; the MAC key is derived from
 * the station token, so cookies survive a station restart with the same token
 * and die when the token changes. The only thing stored server-side is the
 * list of ended sessions (`revocations`), so `DELETE /session` really ends
 * one: without it a stolen cookie would live until the token changes.
 *
 * @example
 * const sessions = createPageSessions(token);
 * if (sessions.accepts(req)) return { identity: 'page' };
 */
export function createPageSessions(
  token: string,
  opts: { ttlSeconds?: number; revocations?: PageRevocations } = {},
): PageSessions {
  const ttlSeconds = opts.ttlSeconds ?? 15 * 60;
  const key = createHmac('sha256', token).update('corbel weather page session v1').digest();
  const mac = (body: string) => createHmac('sha256', key).update(body).digest('base64url');

  const attributes = (req: IncomingMessage, maxAge: number) => {
    const secure = (req.socket as { encrypted?: boolean }).encrypted ? '; Secure' : '';
    return `Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure}`;
  };

  /** The session a request carries, when its cookie is valid and unexpired and it is not cross-origin. */
  const sessionOf = (req: IncomingMessage): { nonce: string; expiresAt: number } | null => {
    if (!sameOrigin(req)) return null;
    const value = cookieValue(req.headers.cookie, SESSION_COOKIE);
    const parts = value?.split('.') ?? [];
    if (parts.length !== 4 || parts[0] !== 'v1') return null;
    const expiresAt = Number(parts[1]);
    if (!Number.isSafeInteger(expiresAt) || expiresAt <= Date.now()) return null;
    const expected = Buffer.from(mac(parts.slice(0, 3).join('.')));
    const presented = Buffer.from(parts[3]!);
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return null;
    if (opts.revocations?.isRevoked(parts[2]!)) return null;
    return { nonce: parts[2]!, expiresAt };
  };

  return {
    ttlSeconds,
    issue(req) {
      const expiresAt = Date.now() + ttlSeconds * 1000;
      const nonce = sessionOf(req)?.nonce ?? randomBytes(12).toString('base64url');
      const body = `v1.${expiresAt}.${nonce}`;
      return {
        cookie: `${SESSION_COOKIE}=${body}.${mac(body)}; ${attributes(req, ttlSeconds)}`,
        expiresAt,
      };
    },
    clear(req) {
      return `${SESSION_COOKIE}=; ${attributes(req, 0)}`;
    },
    async end(req) {
      const session = sessionOf(req);
      if (!session) return false;
      await opts.revocations?.revoke(session.nonce, session.expiresAt);
      return true;
    },
    accepts(req) {
      return sessionOf(req) !== null;
    },
    identify(req) {
      const session = sessionOf(req);
      return session && { id: `page:${session.nonce}`, expiresAt: session.expiresAt };
    },
  };
}

/** False when the request names an Origin other than the host it was sent to. */
export function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
