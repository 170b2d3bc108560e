import type { IncomingMessage, ServerResponse } from 'node:http';
import { CorbelError } from '@corbel/core';
import { TRPCError } from '@trpc/server';
import type { Authenticate, Identity } from './auth/authenticate.js';
import { type AuthorizeOption, type AuthorizeRequest, authorizer } from './authorize.js';
import { IdentityCounter, type LimitKind, type Limits, RateLimiter } from './limits.js';
import type { CorbelLogger } from './logger.js';
import type { AuthRefusal, CorbelMetrics } from './metrics.js';
import { requestIdOf } from './request-id.js';

export interface RequestGateOptions {
  authenticate?: Authenticate | undefined;
  authorize?: AuthorizeOption | undefined;
  limits: Limits;
  metrics?: CorbelMetrics | undefined;
  logger: CorbelLogger;
}

/** What a request was admitted with. */
export interface Admission {
  identity: Identity | null;
  /** Limits are counted under this key: the identity id, or the client address when anonymous. */
  key: string;
  /** Which slot it holds until `release`: a command request in flight, or an open stream. */
  kind: 'commands' | 'stream';
}

// Kept on the request: cheaper per request than a WeakMap entry.
const ADMISSION = Symbol('corbel.admission');
const RELEASED = Symbol('corbel.released');
type Admitted = IncomingMessage & { [ADMISSION]?: Admission; [RELEASED]?: true };

const WWW_AUTHENTICATE = 'Bearer realm="corbel"';

/**
 * The checks every RPC request passes before any procedure runs, in this
 * order: authentication (401), command rate (429), requests in flight (429),
 * open streams (429); then, per call, authorization (403). Slots are released
 * when the response closes, whatever ends it.
 */
export class RequestGate {
  private readonly inFlight: IdentityCounter;
  private readonly streams: IdentityCounter;
  private readonly rate: RateLimiter;
  private readonly check: ((r: AuthorizeRequest) => Promise<void>) | undefined;

  constructor(private readonly opts: RequestGateOptions) {
    const { limits } = opts;
    this.inFlight = new IdentityCounter(limits.maxInFlightPerIdentity);
    this.streams = new IdentityCounter(limits.maxStreamsPerIdentity);
    this.rate = new RateLimiter(limits.commandsPerSecond, limits.commandBurst);
    this.check = opts.authorize ? authorizer(opts.authorize) : undefined;
  }

  get authenticates(): boolean {
    return this.opts.authenticate !== undefined;
  }

  get authorizes(): boolean {
    return this.check !== undefined;
  }

  /** The admission of a request that passed `admit`, if any. */
  admissionOf(req: IncomingMessage): Admission | undefined {
    return (req as Admitted)[ADMISSION];
  }

  /**
   * Authenticates only (401 when it fails); for endpoints outside the router
   * such as a protected /metrics.
   */
  async identify(req: IncomingMessage, res: ServerResponse, stream = false): Promise<Identity | null> {
    const { authenticate } = this.opts;
    if (!authenticate) return null;
    let identity: Identity | null;
    try {
      identity = await authenticate(req);
    } catch (cause) {
      const corbel = CorbelError.find(cause);
      const expired = corbel?.corbelCode === 'TOKEN_EXPIRED';
      this.refuse(req, res, expired ? 'expired' : 'invalid');
      throw corbel ?? new CorbelError('UNAUTHENTICATED', 'the credentials could not be checked', { cause });
    }
    if (!identity) {
      const presented = req.headers.authorization !== undefined;
      this.refuse(req, res, presented ? 'invalid' : 'missing');
      throw new CorbelError(
        'UNAUTHENTICATED',
        presented
          ? 'the bearer token is not valid'
          : 'authentication required: send "Authorization: Bearer <token>"',
      );
    }
    if (stream && identity.expiresAt !== undefined && identity.expiresAt <= Date.now()) {
      this.refuse(req, res, 'expired');
      throw new CorbelError('TOKEN_EXPIRED', 'the bearer token has expired; get a fresh one');
    }
    return identity;
  }

  /**
   * Admits one RPC request (`calls` commands, or one event stream) or throws
   * the CorbelError to answer it with, with Retry-After / WWW-Authenticate set.
   * Synchronous when the server does not authenticate (the common command
   * path pays for no promise); the slot is held until `release`.
   */
  admit(
    req: IncomingMessage,
    res: ServerResponse,
    kind: 'commands' | 'stream',
    calls: number,
  ): Admission | Promise<Admission> {
    if (!this.opts.authenticate) return this.admitAs(null, req, res, kind, calls);
    return this.identify(req, res, kind === 'stream').then((identity) =>
      this.admitAs(identity, req, res, kind, calls),
    );
  }

  private admitAs(
    identity: Identity | null,
    req: IncomingMessage,
    res: ServerResponse,
    kind: 'commands' | 'stream',
    calls: number,
  ): Admission {
    // Gone while its credentials were being checked: it gets no slot (nothing would give it back).
    if ((req as Admitted)[RELEASED]) {
      throw new TRPCError({ code: 'CLIENT_CLOSED_REQUEST', message: 'the client went away' });
    }
    const key = identity ? `id:${identity.id}` : `addr:${req.socket.remoteAddress ?? 'unknown'}`;
    if (kind === 'commands') {
      let wait = 0;
      for (let i = 0; i < calls && wait === 0; i++) wait = this.rate.take(key);
      if (wait > 0)
        throw this.limit(req, res, 'rate', wait, `command rate limit reached; retry in ${wait} s`);
      if (!this.inFlight.acquire(key)) {
        throw this.limit(
          req,
          res,
          'in-flight',
          1,
          `too many requests in flight (limit ${this.inFlight.max})`,
        );
      }
    } else if (!this.streams.acquire(key)) {
      throw this.limit(req, res, 'streams', 5, `too many open event streams (limit ${this.streams.max})`);
    }
    const admission: Admission = { identity, key, kind };
    (req as Admitted)[ADMISSION] = admission;
    return admission;
  }

  /**
   * Gives back the slot an admitted request holds. The server calls it once
   * the response closes, whatever ended it; calling it again does nothing.
   */
  release(req: IncomingMessage): void {
    if ((req as Admitted)[RELEASED]) return;
    (req as Admitted)[RELEASED] = true;
    const admission = (req as Admitted)[ADMISSION];
    if (admission) (admission.kind === 'commands' ? this.inFlight : this.streams).release(admission.key);
  }

  /** Runs the authorization rule for one call; throws FORBIDDEN when refused. */
  async authorize(request: AuthorizeRequest, res: ServerResponse): Promise<void> {
    if (!this.check) return;
    try {
      await this.check(request);
    } catch (error) {
      this.refuse(request.req, res, 'forbidden', request.path);
      throw error;
    }
  }

  /** Counts a limit hit and builds its 429 (or other) error, with Retry-After. */
  limit(req: IncomingMessage, res: ServerResponse, kind: LimitKind, retryAfterS: number, message: string) {
    this.limitHit(req, kind);
    if (!res.headersSent) res.setHeader('retry-after', String(retryAfterS));
    return new CorbelError('LIMIT_EXCEEDED', message);
  }

  limitHit(req: IncomingMessage | undefined, kind: LimitKind): void {
    this.opts.metrics?.limitHit(kind);
    this.opts.logger.info({ reqId: req ? requestIdOf(req) : undefined, limit: kind }, 'limit hit');
  }

  private refuse(req: IncomingMessage, res: ServerResponse, reason: AuthRefusal, path?: string): void {
    this.opts.metrics?.authRefused(reason);
    if (reason !== 'forbidden' && !res.headersSent) {
      res.setHeader(
        'www-authenticate',
        reason === 'missing' ? WWW_AUTHENTICATE : `${WWW_AUTHENTICATE}, error="invalid_token"`,
      );
    }
    this.opts.logger.debug({ reqId: requestIdOf(req), reason, path }, 'auth refused');
  }

  /** One log line per command or stream error. */
  logError(
    req: IncomingMessage,
    error: TRPCError,
    status: number,
    path: string | undefined,
    type: string,
  ): void {
    const corbel = CorbelError.find(error);
    const line = {
      reqId: requestIdOf(req),
      identity: this.admissionOf(req)?.identity?.id,
      path: path?.slice(0, 200),
      type,
      status,
      code: error.code,
      corbelCode: corbel?.corbelCode,
      err: status >= 500 ? { message: error.message, stack: error.stack } : undefined,
    };
    if (status >= 500) this.opts.logger.error(line, error.message);
    else this.opts.logger.info(line, error.message);
  }
}
