import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BuiltPage, PageAsset } from './build-page.js';
import { type PageSessions, sameOrigin } from './page-session.js';

/**
 * The page's Content-Security-Policy: only this origin's script, style and
 * connections (commands and EventSource), no inline code, no frames, no
 * plugins, forms only to itself. No CDN is ever needed.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'x-frame-options': 'DENY',
} as const;

export interface PageRoutesOptions {
  page: BuiltPage;
  /** Present when the station requires a token: enables the /session exchange. */
  sessions?: PageSessions;
  /** Checks a token presented to POST /session. */
  tokenMatches?: (token: string) => boolean;
  /**
   * Counts a failed token exchange (or refresh) against its client: 0, or the
   * seconds to wait when past the burst (answered 429 + Retry-After).
   */
  authFailed?: (req: IncomingMessage) => number;
}

/**
 * The `fallback` of the station's Corbel server: serves the page at `/`, its
 * hashed assets under `/assets/`, and the token-for-cookie exchange at
 * `/session`. Everything else falls through to the server's 404.
 *
 * @example
 * createCorbelServer({ router, fallback: pageRoutes({ page: await buildPage() }) });
 */
export function pageRoutes(opts: PageRoutesOptions) {
  const { page, sessions } = opts;
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    if (url.pathname === '/session') {
      await serveSession(req, res, opts);
      return true;
    }
    if (url.pathname === '/favicon.ico') {
      // Browsers ask for it on every page; answer "nothing" instead of logging a 404.
      res.writeHead(204, { 'cache-control': 'public, max-age=86400' }).end();
      return true;
    }
    const asset = page.assets.get(url.pathname === '/index.html' ? '/' : url.pathname);
    if (!asset) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, { allow: 'GET, HEAD' }, { error: { message: `${req.method} is not allowed here` } });
      return true;
    }
    serveAsset(req, res, asset, sessions !== undefined);
    return true;
  };
}

function serveAsset(req: IncomingMessage, res: ServerResponse, asset: PageAsset, locked: boolean) {
  const headers: Record<string, string | number> = {
    ...SECURITY_HEADERS,
    'content-type': asset.contentType,
    // The html names the current hashed assets, so it is revalidated every
    // time; the hashed files never change under their name.
    'cache-control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    etag: asset.etag,
    vary: 'accept-encoding',
  };
  if (!asset.immutable && locked) headers['cache-control'] = 'no-cache, private';
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers).end();
    return;
  }
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gzip ? asset.gzip : asset.body;
  if (gzip) headers['content-encoding'] = 'gzip';
  headers['content-length'] = body.length;
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * GET /session tells the page whether it must ask for the token; POST
 * /session trades `{ token }` for the cookie; POST /session?refresh=1 renews a
 * valid (unexpired, unrevoked) cookie; DELETE /session ends the session.
 */
async function serveSession(req: IncomingMessage, res: ServerResponse, opts: PageRoutesOptions) {
  const { sessions } = opts;
  const noStore = { 'cache-control': 'no-store' };
  if (req.method === 'GET') {
    send(res, 200, noStore, {
      tokenRequired: sessions !== undefined,
      authenticated: sessions ? sessions.accepts(req) : true,
      ttlSeconds: sessions?.ttlSeconds ?? null,
    });
    return;
  }
  if (!sessions || !opts.tokenMatches) {
    send(res, 404, noStore, { error: { message: 'this station runs without a token; no session needed' } });
    return;
  }
  if (!sameOrigin(req)) {
    send(res, 403, noStore, { error: { message: 'cross-origin session requests are refused' } });
    return;
  }
  if (req.method === 'DELETE') {
    // Ended server-side, not only forgotten by this browser: a copy of the cookie dies too.
    await sessions.end(req);
    send(res, 204, { ...noStore, 'set-cookie': sessions.clear(req) });
    return;
  }
  if (req.method !== 'POST') {
    send(
      res,
      405,
      { ...noStore, allow: 'GET, POST, DELETE' },
      { error: { message: 'use GET, POST or DELETE' } },
    );
    return;
  }
  // JSON only: a cross-site HTML form cannot send application/json without a preflight.
  const type = req.headers['content-type']?.split(';', 1)[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    send(res, 415, noStore, { error: { message: 'send application/json' } });
    return;
  }
  const text = await readSmallBody(req, 4096);
  const refresh = new URL(req.url ?? '/', 'http://x').searchParams.get('refresh') === '1';
  let ok = false;
  if (refresh) ok = sessions.accepts(req);
  else if (text !== undefined) {
    try {
      const token = (JSON.parse(text) as { token?: unknown }).token;
      ok = typeof token === 'string' && opts.tokenMatches(token);
    } catch {
      ok = false;
    }
  }
  if (!ok) {
    // Guessing tokens is not free: past a small burst per client, 429.
    const wait = opts.authFailed?.(req) ?? 0;
    if (wait > 0) {
      send(
        res,
        429,
        { ...noStore, 'retry-after': String(wait) },
        { error: { message: `too many failed attempts; retry in ${wait} s` } },
      );
      return;
    }
    send(res, 401, noStore, {
      error: { message: refresh ? 'the session expired; enter the token again' : 'wrong token' },
    });
    return;
  }
  const { cookie, expiresAt } = sessions.issue(req);
  send(res, 200, { ...noStore, 'set-cookie': cookie }, { expiresAt });
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body?: unknown) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    ...headers,
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function readSmallBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
