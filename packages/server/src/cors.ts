import type { IncomingMessage, ServerResponse } from 'node:http';

export interface CorsOptions {
  /** Origins allowed to call, exactly as browsers send them ("https://app.example.com"). */
  origins: string[];
  /** Send `Access-Control-Allow-Credentials: true` (cookies, HTTP auth). Default false. */
  credentials?: boolean | undefined;
  /** Request headers a page may send (default: authorization, content-type, last-event-id, x-request-id, trpc-accept, idempotency-key, corbel-piggyback*). */
  allowHeaders?: string[] | undefined;
  /** How long a browser may cache a preflight answer, in seconds (default 600). */
  maxAgeSeconds?: number | undefined;
}

const DEFAULT_HEADERS = [
  'authorization',
  'content-type',
  'last-event-id',
  'x-request-id',
  'trpc-accept',
  'idempotency-key',
  // A page that asks for its pending events with a command (protocol.md 4.5).
  'corbel-piggyback',
  'corbel-piggyback-input',
  'corbel-piggyback-last-event-id',
];

/** What the CORS check decided for one request. */
export type CorsVerdict = 'not-cors' | 'allowed' | 'preflight-done' | 'refused';

/**
 * CORS for configured origins only. A preflight (OPTIONS with
 * Access-Control-Request-Method) from an allowed origin is answered 204 with
 * the allowed methods and headers; from any other origin 403. Actual requests
 * from an allowed origin get Access-Control-Allow-Origin; others get no CORS
 * headers, so the browser withholds the answer from the page.
 *
 * @example
 * createCorbelServer({ router, cors: { origins: ['https://board.example.com'] } });
 */
export function createCors(opts: CorsOptions) {
  const origins = new Set(opts.origins.map((o) => o.replace(/\/+$/, '').toLowerCase()));
  if (origins.has('*') && opts.credentials) {
    throw new RangeError('cors: "*" cannot be combined with credentials; list the origins');
  }
  const allowHeaders = new Set((opts.allowHeaders ?? DEFAULT_HEADERS).map((h) => h.toLowerCase()));
  const maxAge = String(opts.maxAgeSeconds ?? 600);
  const allowed = (origin: string) => origins.has('*') || origins.has(origin.toLowerCase());

  return function cors(req: IncomingMessage, res: ServerResponse): CorsVerdict {
    const origin = req.headers.origin;
    if (typeof origin !== 'string') return 'not-cors';
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    res.setHeader('vary', 'Origin');
    if (!allowed(origin)) return preflight ? 'refused' : 'not-cors';
    res.setHeader('access-control-allow-origin', origins.has('*') ? '*' : origin);
    if (opts.credentials) res.setHeader('access-control-allow-credentials', 'true');
    if (!preflight) {
      res.setHeader(
        'access-control-expose-headers',
        'retry-after, x-request-id, idempotent-replayed, corbel-events, corbel-events-error',
      );
      return 'allowed';
    }
    const method = String(req.headers['access-control-request-method']).toUpperCase();
    const requested = String(req.headers['access-control-request-headers'] ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean);
    if (!['GET', 'POST', 'HEAD'].includes(method) || requested.some((h) => !allowHeaders.has(h))) {
      return 'refused';
    }
    res.writeHead(204, {
      'access-control-allow-methods': 'GET, POST, HEAD',
      'access-control-allow-headers': [...allowHeaders].join(', '),
      'access-control-max-age': maxAge,
      'content-length': 0,
    });
    res.end();
    return 'preflight-done';
  };
}
