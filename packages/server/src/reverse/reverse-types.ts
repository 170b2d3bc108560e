import type {
  HandlerContract,
  HandlerInput,
  HandlerOutput,
  HandlerPath,
  Hub,
  ReverseFrame,
  ReverseReply,
  SessionInfo,
  SessionRegistry,
} from '@corbel/core';
import type { TrackedEnvelope } from '@trpc/server';
import type { Settled } from './settle-all.js';

export interface ReverseServiceOptions<C extends HandlerContract> {
  hub: Hub;
  /** The sessions clients open; a reverse call is addressed to one. */
  registry: SessionRegistry;
  /** The handlers clients implement (the shared contract). */
  handlers: C;
  /**
   * The key call ids are signed with; every instance serving the same clients
   * needs the same one. Default: agreed through the event log (the first key
   * any instance stored), so instances sharing a Redis log agree on their own.
   */
  secret?: string | Buffer | undefined;
  /** A call's timeout when the caller names none (default 30 s). */
  defaultTimeoutMs?: number | undefined;
  /** The longest timeout a caller may ask for (default 10 min). */
  maxTimeoutMs?: number | undefined;
  /** How long a client may be disconnected before its pending calls fail with CLIENT_GONE (default 5 s). */
  graceMs?: number | undefined;
  /** Calls waiting for one client's answer at most (default 1024); past it, LIMIT_EXCEEDED. */
  maxPendingPerClient?: number | undefined;
  /** Largest call input, serialized (default 64 KiB); past it, PAYLOAD_TOO_LARGE. */
  maxPayloadBytes?: number | undefined;
  /** Calls in flight at once in a call to many (default 64). */
  concurrency?: number | undefined;
}

export interface CallOptions {
  /** Fail with TIMEOUT after this long (default `defaultTimeoutMs`). */
  timeoutMs?: number | undefined;
  /** Aborting fails the call with CALL_CANCELLED and aborts the client handler's signal. */
  signal?: AbortSignal | undefined;
}

export interface CallManyOptions extends CallOptions {
  /** Calls in flight at once (default the service's `concurrency`). */
  concurrency?: number | undefined;
}

/** A typed handle on one connected client (its session). */
export interface ReverseHandle<C extends HandlerContract> {
  /** The session the calls go to. */
  readonly session: string;
  /** Its short, non-secret reference (for logs and listings). */
  readonly ref: string;
  call<P extends HandlerPath<C>>(
    path: P,
    input: HandlerInput<C, P>,
    opts?: CallOptions,
  ): Promise<HandlerOutput<C, P>>;
}

/** One client's outcome in a call to many; `target` is the session id. */
export type SettledCall<T> = Settled<string, T> & { ref: string };

export interface ReverseService<C extends HandlerContract> {
  readonly handlers: C;
  /** This instance's id (it is part of every call id it makes). */
  readonly instance: string;
  /** Resolves once the call-id key is known (calls wait for it on their own). */
  ready(): Promise<void>;
  /** A handle on the client of `session`. */
  to(session: string): ReverseHandle<C>;
  /**
   * A handle on a callback reference a command received (the caller's own
   * session id), refused with FORBIDDEN unless `owner` owns it: the CORBA
   * callback pattern, where a command takes a progress sink.
   */
  callbackOf(owner: string, session: string): Promise<ReverseHandle<C>>;
  /** Calls `path` on one client and resolves with its validated answer. */
  call<P extends HandlerPath<C>>(
    session: string,
    path: P,
    input: HandlerInput<C, P>,
    opts?: CallOptions,
  ): Promise<HandlerOutput<C, P>>;
  /** Calls `path` on each session with bounded concurrency; one settled result per session, in order. */
  callMany<P extends HandlerPath<C>>(
    sessions: readonly string[],
    path: P,
    input: HandlerInput<C, P>,
    opts?: CallManyOptions,
  ): Promise<SettledCall<HandlerOutput<C, P>>[]>;
  /** Calls every connected client of `owner`. */
  callIdentity<P extends HandlerPath<C>>(
    owner: string,
    path: P,
    input: HandlerInput<C, P>,
    opts?: CallManyOptions,
  ): Promise<SettledCall<HandlerOutput<C, P>>[]>;
  /** Calls every connected client. */
  callAll<P extends HandlerPath<C>>(
    path: P,
    input: HandlerInput<C, P>,
    opts?: CallManyOptions,
  ): Promise<SettledCall<HandlerOutput<C, P>>[]>;
  /** Sessions whose calls link is up on some instance, oldest first. */
  connected(): Promise<SessionInfo[]>;
  /** The calls stream of `session` for its `owner` (`reverse.calls`). */
  calls(
    session: string,
    owner: string,
    opts?: { after?: string | undefined; signal?: AbortSignal | undefined },
  ): Promise<AsyncIterable<TrackedEnvelope<ReverseFrame>>>;
  /** Takes a client's answer (`reverse.reply`); FORBIDDEN unless the call was addressed to the caller's session. */
  reply(owner: string, reply: ReverseReply): Promise<{ accepted: boolean }>;
  /** Calls waiting for an answer here, and calls links open here. */
  stats(): { pending: number; links: number };
  /** Fails pending calls with CLOSED and stops timers. */
  close(): void;
}
