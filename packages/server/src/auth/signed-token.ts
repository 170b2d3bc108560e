import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { CorbelError } from '@corbel/core';
import { type Authenticate, bearerTokenOf, type Identity } from './authenticate.js';

const PREFIX = 'cb1';

/** What a signed token says. */
export interface TokenClaims {
  /** Subject: the identity id. */
  sub: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
  /** Issued at, seconds since the epoch. */
  iat: number;
  /** Audience: the services that may accept it (any, when absent). */
  aud?: string[] | undefined;
  /** Random id, so two tokens issued in the same second differ. */
  jti: string;
  /** Application claims (roles, tenant…). */
  ext?: Record<string, unknown> | undefined;
}

export interface IssueTokenOptions {
  /** The identity id the token stands for. */
  subject: string;
  /** Lifetime in milliseconds (default one hour). */
  ttlMs?: number | undefined;
  audience?: string[] | undefined;
  claims?: Record<string, unknown> | undefined;
  /** Clock, for tests. */
  now?: number | undefined;
}

function keyOf(key: string | Buffer): Buffer {
  const buf = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  if (buf.length < 32) throw new RangeError('the token signing key must be at least 32 bytes');
  return buf;
}

function sign(key: Buffer, body: string): string {
  return createHmac('sha256', key).update(`${PREFIX}.${body}`).digest('base64url');
}

/**
 * Issues an HMAC-SHA256 signed token `cb1.<claims>.<signature>` that every
 * Corbel service holding the same key accepts until it expires: one login,
 * several services.
 *
 * @example
 * const token = issueToken(process.env.CORBEL_SIGNING_KEY!, { subject: 'board-1', ttlMs: 15 * 60_000 });
 */
export function issueToken(key: string | Buffer, opts: IssueTokenOptions): string {
  const now = opts.now ?? Date.now();
  const claims: TokenClaims = {
    sub: opts.subject,
    iat: Math.floor(now / 1000),
    exp: Math.floor((now + (opts.ttlMs ?? 3_600_000)) / 1000),
    jti: randomBytes(9).toString('base64url'),
    ...(opts.audience ? { aud: opts.audience } : {}),
    ...(opts.claims ? { ext: opts.claims } : {}),
  };
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${PREFIX}.${body}.${sign(keyOf(key), body)}`;
}

export interface VerifyTokenOptions {
  /** This service's name; a token with an audience must name it. */
  audience?: string | undefined;
  /** Tolerated clock skew in seconds (default 5). */
  leewaySeconds?: number | undefined;
  now?: number | undefined;
}

/**
 * Verifies a signed token: its signature (constant time), expiry and audience.
 * Throws CorbelError UNAUTHENTICATED for a bad token and TOKEN_EXPIRED (which
 * is retryable: get a fresh one) for an expired one.
 *
 * @example
 * const claims = verifyToken(key, token, { audience: 'weather' });
 */
export function verifyToken(key: string | Buffer, token: string, opts: VerifyTokenOptions = {}): TokenClaims {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX || token.length > 8192) {
    throw new CorbelError('UNAUTHENTICATED', 'the bearer token is not a Corbel signed token');
  }
  const [, body, signature] = parts as [string, string, string];
  const expected = Buffer.from(sign(keyOf(key), body));
  const presented = Buffer.from(signature);
  if (expected.length !== presented.length || !timingSafeEqual(expected, presented)) {
    throw new CorbelError('UNAUTHENTICATED', 'the bearer token signature is not valid');
  }
  let claims: TokenClaims;
  try {
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    throw new CorbelError('UNAUTHENTICATED', 'the bearer token claims are not readable');
  }
  if (typeof claims?.sub !== 'string' || typeof claims.exp !== 'number') {
    throw new CorbelError('UNAUTHENTICATED', 'the bearer token lacks a subject or expiry');
  }
  const nowSeconds = (opts.now ?? Date.now()) / 1000;
  if (claims.exp + (opts.leewaySeconds ?? 5) <= nowSeconds) {
    throw new CorbelError('TOKEN_EXPIRED', 'the bearer token has expired; get a fresh one');
  }
  if (claims.aud && (!opts.audience || !claims.aud.includes(opts.audience))) {
    throw new CorbelError('UNAUTHENTICATED', 'the bearer token is not meant for this service');
  }
  return claims;
}

/**
 * An authenticator for tokens from `issueToken`: the identity is the token's
 * subject and its streams end when the token expires (the client reconnects
 * with a fresh one).
 *
 * @example
 * createCorbelServer({ router, authenticate: signedTokenAuth({ key, audience: 'weather' }) });
 */
export function signedTokenAuth(opts: {
  key: string | Buffer;
  audience?: string | undefined;
  leewaySeconds?: number | undefined;
}): Authenticate {
  keyOf(opts.key);
  return (req): Identity | null => {
    const token = bearerTokenOf(req);
    if (token === null) return null;
    const claims = verifyToken(opts.key, token, opts);
    return {
      id: claims.sub,
      expiresAt: claims.exp * 1000,
      ...(claims.ext ? { claims: claims.ext } : {}),
    };
  };
}
