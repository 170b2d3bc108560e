import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { CorbelError } from '@corbel/core';
import { TRPCError } from '@trpc/server';
import type { Authenticate, Identity } from './auth/authenticate.js';
import { type AuthorizeOption, type AuthorizeRequest, authorizer } from './authorize.js';
import type { ClientAddressOf } from './client-address.js';
import { IdentityCounter, type LimitKind, type Limits, RateLimiter } from './limits.js';
import type { CorbelLogger } from './logger.js';
import type { AuthRefusal, CorbelMetrics } from './metrics.js';
import { requestIdOf } from './request-id.js';
import { type SharedLimitStore, SharedLimits, type StreamSlot } from './shared-limits.js';

export interface RequestGateOptions {
  authenticate?: Authenticate | undefined;
  authorize?: AuthorizeOption | undefined;
  limits: Limits;
  metrics?: CorbelMetrics | undefined;
  logger: CorbelLogger;
  /** The client's address (the socket peer, or the right-most untrusted proxy hop). */
  clientAddressOf: ClientAddressOf;
  /** Counts command rates and streams per identity cluster-wide (e.g. in Redis), per instance when it is down. */
  sharedLimits?: SharedLimitStore | undefined;
}

/** What a request was admitted with. */
export interface Admission {
  identity: Identity | null;
  /** Limits are counted under this key: the identity id, or the client address when anonymous. */
  key: string;
  /** Which slot it holds until `release`: a command request in flight, or an open stream. */
  kind: 'commands' | 'stream';
  /** A command request takes its in-flight slot once its body is read (`hold`), not before. */
  holding: boolean;
  /** Where a stream's slot was taken, with shared limits. */
  slot?: StreamSlot | undefined;
}

// Kept on the request: cheaper per request than a WeakMap entry.
const ADMISSION = Symbol('corbel.admission');
const RELEASED = Symbol('corbel.released');
const READING = Symbol('corbel.reading');
type Admitted = IncomingMessage & {
  [ADMISSION]?: Admission;
  [RELEASED]?: true;
  [READING]?: string | undefined;
};

// An anonymous caller's limit key, on its socket (see `addressKey`).
const ADDRESS_KEY = Symbol('corbel.addressKey');
type KeyedSocket = Socket & { [ADDRESS_KEY]?: { address: string; key: string } };

const WWW_AUTHENTICATE = 'Bearer realm="corbel"';

/**
 * The checks every RPC request passes before any procedure runs, in this
 * order: authentication (401, or 429 past the failure burst of its address),
 * command rate (429), open streams (429); once a command's body is read,
 * requests in flight (429); then, per call, authorization (403). Slots are
 * released when the response closes, whatever ends it.
 */
export class RequestGate {
  private readonly inFlight: IdentityCounter;
  private readonly streams: IdentityCounter;
  private readonly reading: IdentityCounter;
  private readonly rate: RateLimiter;
  private readonly authFailures: RateLimiter;
  private readonly check: ((r: AuthorizeRequest) => Promise<void>) | undefined;
  /** Cluster-wide rate and stream limits, when the server was given a shared store. */
  readonly shared: SharedLimits | undefined;

  constructor(private readonly opts: RequestGateOptions) {
    const { limits } = opts;
    this.inFlight = new IdentityCounter(limits.maxInFlightPerIdentity);
    this.streams = new IdentityCounter(limits.maxStreamsPerIdentity);
    this.reading = new IdentityCounter(limits.maxUnfinishedBodiesPerAddress);
    this.rate = new RateLimiter(limits.commandsPerSecond, limits.commandBurst);
    this.authFailures = new RateLimiter(limits.authFailuresPerMinute / 60, limits.authFailureBurst);
    this.shared =
      opts.sharedLimits &&
      new SharedLimits(
        opts.sharedLimits,
        { rate: this.rate, streams: this.streams },
        opts.logger,
        opts.metrics,
      );
    this.check = opts.authorize ? authorizer(opts.authorize) : undefined;
  }

  /** The server's metrics, for the serving path's own counters (long polls). */
  get metrics(): CorbelMetrics | undefined {
    return this.opts.metrics;
  }

  /** The client's address (see `trustProxy`): what limits of anonymous callers and the logs use. */
  remoteOf(req: IncomingMessage): string {
    return this.opts.clientAddressOf(req);
  }

  /**
   * Counts one failed authentication from the request's client: 0 while it
   * is within its burst, else the seconds it must wait (for Retry-After).
   * Successes never come here, so they are never slowed.
   */
  authFailed(req: IncomingMessage): number {
    return this.authFailures.take(`addr:${this.remoteOf(req)}`);
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
      // An expired token is not a guess: it was valid once.
      if (!expired) this.throttleFailure(req, res);
      this.refuse(req, res, expired ? 'expired' : 'invalid');
      throw corbel ?? new CorbelError('UNAUTHENTICATED', 'the credentials could not be checked', { cause });
    }
    if (!identity) {
      const presented = req.headers.authorization !== undefined;
      if (presented) this.throttleFailure(req, res);
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
    if (this.shared) {
      return (
        this.opts.authenticate ? this.identify(req, res, kind === 'stream') : Promise.resolve(null)
      ).then((identity) => this.admitShared(this.shared!, identity, req, res, kind, calls));
    }
    if (!this.opts.authenticate) return this.admitAs(null, req, res, kind, calls);
    return this.identify(req, res, kind === 'stream').then((identity) =>
      this.admitAs(identity, req, res, kind, calls),
    );
  }

  /**
   * The limit key of an anonymous caller, kept on its socket: every command
   * of a keep-alive connection counts under the same string, which the limit
   * tables then hash once instead of once per request.
   */
  private addressKey(req: IncomingMessage): string {
    const address = this.remoteOf(req);
    const socket = req.socket as KeyedSocket | null;
    const kept = socket?.[ADDRESS_KEY];
    // The address is checked, not assumed: behind a trusted proxy it is each request's own.
    if (kept !== undefined && kept.address === address) return kept.key;
    const key = `addr:${address}`;
    if (socket) socket[ADDRESS_KEY] = { address, key };
    return key;
  }

  /** Past the failure burst of its client, a wrong credential is answered 429 instead of 401. */
  private throttleFailure(req: IncomingMessage, res: ServerResponse): void {
    const wait = this.authFailed(req);
    if (wait > 0) {
      throw this.limit(
        req,
        res,
        'auth-failures',
        wait,
        `too many failed authentications; retry in ${wait} s`,
      );
    }
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
    const key = identity ? `id:${identity.id}` : this.addressKey(req);
    if (kind === 'commands') {
      let wait = 0;
      for (let i = 0; i < calls && wait === 0; i++) wait = this.rate.take(key);
      if (wait > 0)
        throw this.limit(req, res, 'rate', wait, `command rate limit reached; retry in ${wait} s`);
    } else if (!this.streams.acquire(key)) {
      throw this.limit(req, res, 'streams', 5, `too many open event streams (limit ${this.streams.max})`);
    }
    const admission: Admission = { identity, key, kind, holding: kind === 'stream' };
    (req as Admitted)[ADMISSION] = admission;
    return admission;
  }

  /** `admitAs` with the rate and stream limits counted cluster-wide. */
  private async admitShared(
    shared: SharedLimits,
    identity: Identity | null,
    req: IncomingMessage,
    res: ServerResponse,
    kind: 'commands' | 'stream',
    calls: number,
  ): Promise<Admission> {
    if ((req as Admitted)[RELEASED]) {
      throw new TRPCError({ code: 'CLIENT_CLOSED_REQUEST', message: 'the client went away' });
    }
    const key = identity ? `id:${identity.id}` : this.addressKey(req);
    let slot: StreamSlot | undefined;
    if (kind === 'commands') {
      const wait = this.rate.perSecond > 0 ? await shared.takeCommands(key, calls) : 0;
      if (wait > 0)
        throw this.limit(req, res, 'rate', wait, `command rate limit reached; retry in ${wait} s`);
    } else {
      const taken = await shared.acquireStream(key);
      if (!taken)
        throw this.limit(req, res, 'streams', 5, `too many open event streams (limit ${this.streams.max})`);
      slot = taken;
      // Gone while the slot was being taken: give it back now (release has run already).
      if ((req as Admitted)[RELEASED]) {
        shared.releaseStream(key, slot);
        throw new TRPCError({ code: 'CLIENT_CLOSED_REQUEST', message: 'the client went away' });
      }
    }
    const admission: Admission = { identity, key, kind, holding: kind === 'stream', slot };
    (req as Admitted)[ADMISSION] = admission;
    return admission;
  }

  /**
   * Takes the in-flight slot of an admitted command request, once its body
   * is read: a body that trickles in (or never comes) holds no slot, so it
   * cannot crowd out the same identity's other commands.
   */
  hold(req: IncomingMessage, res: ServerResponse): void {
    const admission = (req as Admitted)[ADMISSION];
    if (!admission || admission.holding || (req as Admitted)[RELEASED]) return;
    if (!this.inFlight.acquire(admission.key)) {
      throw this.limit(req, res, 'in-flight', 1, `too many requests in flight (limit ${this.inFlight.max})`);
    }
    admission.holding = true;
  }

  /**
   * Counts a request whose body is being read against its client address;
   * past `maxUnfinishedBodiesPerAddress`, 429. `bodyDone` (or `release`)
   * gives the place back.
   */
  bodyStarted(req: IncomingMessage, res: ServerResponse): void {
    const key = this.remoteOf(req);
    if (!this.reading.acquire(key)) {
      throw this.limit(
        req,
        res,
        'bodies',
        1,
        `too many unfinished request bodies from this address (limit ${this.reading.max})`,
      );
    }
    (req as Admitted)[READING] = key;
  }

  bodyDone(req: IncomingMessage): void {
    const key = (req as Admitted)[READING];
    if (key === undefined) return;
    (req as Admitted)[READING] = undefined;
    this.reading.release(key);
  }

  /**
   * Gives back the slots an admitted request holds. The server calls it once
   * the response closes, whatever ended it; calling it again does nothing.
   */
  release(req: IncomingMessage): void {
    this.bodyDone(req);
    if ((req as Admitted)[RELEASED]) return;
    (req as Admitted)[RELEASED] = true;
    const admission = (req as Admitted)[ADMISSION];
    if (admission?.holding) {
      if (admission.kind === 'stream' && admission.slot && this.shared)
        this.shared.releaseStream(admission.key, admission.slot);
      else (admission.kind === 'commands' ? this.inFlight : this.streams).release(admission.key);
    }
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

  /** Counts a limit hit and logs it; `peer` names the socket when no request was parsed. */
  limitHit(req: IncomingMessage | undefined, kind: LimitKind, peer?: string): void {
    this.opts.metrics?.limitHit(kind);
    this.opts.logger.info(
      {
        reqId: req ? requestIdOf(req) : undefined,
        remote: req ? this.remoteOf(req) : peer,
        limit: kind,
      },
      'limit hit',
    );
  }

  private refuse(req: IncomingMessage, res: ServerResponse, reason: AuthRefusal, path?: string): void {
    this.opts.metrics?.authRefused(reason);
    if (reason !== 'forbidden' && !res.headersSent) {
      res.setHeader(
        'www-authenticate',
        reason === 'missing' ? WWW_AUTHENTICATE : `${WWW_AUTHENTICATE}, error="invalid_token"`,
      );
    }
    this.opts.logger.debug(
      { reqId: requestIdOf(req), remote: this.remoteOf(req), reason, path },
      'auth refused',
    );
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
      remote: this.remoteOf(req),
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
