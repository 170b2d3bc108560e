import type { IncomingMessage, ServerResponse } from 'node:http';
import { type BuiltPage, buildPage } from './build-page.js';
import type { PageRevocations } from './page-revocations.js';
import { createPageSessions, type PageSessions } from './page-session.js';
import { pageRoutes } from './serve-page.js';

let built: Promise<BuiltPage> | undefined;

export interface WebPage {
  /** The `fallback` for createCorbelServer. */
  fallback: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;
  /** Present when the station has a token: the cookie sessions its auth must also accept. */
  sessions: PageSessions | undefined;
  page: BuiltPage;
}

/**
 * Everything the station needs for its web page: the page built in memory
 * (once per process), its routes, and — with a token — the page sessions.
 *
 * @example
 * const web = await webPage({ token, tokenMatches: (t) => t === token });
 * createCorbelServer({ router, fallback: web.fallback });
 */
export async function webPage(opts: {
  token?: string;
  tokenMatches?: (token: string) => boolean;
  /** Ended page sessions (see `loadPageRevocations`); without it DELETE /session only clears the browser's copy. */
  revocations?: PageRevocations;
  /** Counts a failed token exchange; see `CorbelServer.authFailed`. */
  authFailed?: (req: IncomingMessage) => number;
}): Promise<WebPage> {
  built ??= buildPage();
  const page = await built.catch((error) => {
    built = undefined;
    throw error;
  });
  const sessions =
    opts.token === undefined ? undefined : createPageSessions(opts.token, { revocations: opts.revocations });
  return {
    page,
    sessions,
    fallback: pageRoutes({ page, sessions, tokenMatches: opts.tokenMatches, authFailed: opts.authFailed }),
  };
}
