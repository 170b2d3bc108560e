import {
  type Channel,
  CorbelError,
  callsChannelName,
  defineChannel,
  type HandlerContract,
  type ReverseResult,
  reverseFrameSchema,
  reverseReplySchema,
  type SessionInfo,
  sessionRef,
} from '@corbel/core';
import { TRPCError, tracked } from '@trpc/server';
import { type CallIds, createCallIds, newInstanceId } from './call-ids.js';
import { agreeCallKey } from './call-key.js';
import { createLinkPresence } from './link-presence.js';
import { payloadSize } from './payload-size.js';
import type {
  CallManyOptions,
  CallOptions,
  ReverseHandle,
  ReverseService,
  ReverseServiceOptions,
  SettledCall,
} from './reverse-types.js';
import { settleAll } from './settle-all.js';

interface Pending {
  session: string;
  path: string;
  settle(result: ReverseResult): void;
  fail(error: Error, withdraw: boolean): void;
}

const ORIGIN_KEY = 'corbel.reverse.origin';

/**
 * Reverse commands: the server calls handlers a client registered, over the
 * client's own event link. A call is an event on the session's private calls
 * channel (`corbel.session.<id>.calls`), so it is stored and replayed on
 * resume like any event; the answer is the `reverse.reply` mutation, checked
 * against the session's owner and the call id's MAC. Replies to a call made
 * by another instance travel through the shared log to that instance.
 *
 * @example
 * const reverse = createReverseService({ hub, registry, handlers: boardHandlers });
 * const info = await reverse.call(sessionId, 'board.describe', {}, { timeoutMs: 2000 });
 */
export function createReverseService<C extends HandlerContract>(
  opts: ReverseServiceOptions<C>,
): ReverseService<C> {
  const { hub, registry, handlers } = opts;
  const instance = newInstanceId();
  const defaultTimeoutMs = opts.defaultTimeoutMs ?? 30_000;
  const maxTimeoutMs = opts.maxTimeoutMs ?? 10 * 60_000;
  const graceMs = opts.graceMs ?? 5000;
  const maxPending = opts.maxPendingPerClient ?? 1024;
  const maxPayloadBytes = opts.maxPayloadBytes ?? 64 * 1024;
  const concurrency = opts.concurrency ?? 64;

  const pending = new Map<string, Pending>();
  const pendingPer = new Map<string, number>();
  // When each session with pending calls was first seen without a link anywhere.
  const downSince = new Map<string, number>();
  const channels = new Map<string, Channel<typeof reverseFrameSchema>>();
  const channelOf = (session: string) => {
    let channel = channels.get(session);
    if (!channel) {
      channel = defineChannel(callsChannelName(session), reverseFrameSchema);
      channels.set(session, channel);
    }
    return channel;
  };
  const repliesChannel = (inst: string) =>
    defineChannel(`corbel.reverse.replies.${inst}`, reverseReplySchema);
  let closed = false;

  let ids: CallIds | undefined;
  let keying: Promise<CallIds> | undefined;
  const idsReady = (): Promise<CallIds> => {
    if (ids) return Promise.resolve(ids);
    keying ??= agreeCallKey(hub.log, opts.secret).then(
      (key) => (ids = createCallIds(key, instance)),
      (error) => {
        keying = undefined; // try again on the next call
        throw CorbelError.from(error, 'STORE_UNAVAILABLE');
      },
    );
    return keying;
  };
  // How often this instance re-marks its open links (and keeps their sessions from expiring).
  const heartbeatMs = Math.max(100, Math.min(10_000, registry.ttlMs / 4));
  const presence = createLinkPresence({ registry, instance, graceMs, heartbeatMs });
  const linkOpened = (session: string) => {
    presence.opened(session);
    downSince.delete(session);
  };
  const linkClosed = (session: string) => {
    presence.closed(session);
    if (presence.local(session) === 0 && pendingPer.has(session)) downSince.set(session, Date.now());
  };

  const failSession = (session: string, error: CorbelError) => {
    for (const p of [...pending.values()]) if (p.session === session) p.fail(error, false);
  };

  // One ticker: CLIENT_GONE after the grace period, and links kept from expiring.
  let lastTouch = Date.now();
  let checking = false;
  const tick = async () => {
    if (checking) return;
    checking = true;
    try {
      const now = Date.now();
      for (const session of [...pendingPer.keys()]) {
        if (presence.local(session) > 0) continue;
        const info = await registry.get(session).catch(() => undefined);
        if (info === undefined) continue; // store unreachable: decide later
        if (info && presence.upElsewhere(info)) {
          downSince.delete(session);
          continue;
        }
        // Dropped on another instance: count the grace period from when it dropped there.
        const since = Math.min(
          downSince.get(session) ?? now,
          info ? (presence.droppedElsewhereAt(info) ?? now) : now,
        );
        downSince.set(session, since);
        if (now - since >= graceMs) {
          downSince.delete(session);
          failSession(
            session,
            new CorbelError(
              'CLIENT_GONE',
              `client ${sessionRef(session)} is not connected and did not come back within ${graceMs} ms`,
            ),
          );
        }
      }
      if (now - lastTouch >= heartbeatMs) {
        lastTouch = now;
        // Channel objects only for sessions in use here; they are rebuilt on demand.
        for (const session of channels.keys()) {
          if (presence.local(session) === 0 && !pendingPer.has(session)) channels.delete(session);
        }
        await presence.refresh(now);
      }
    } finally {
      checking = false;
    }
  };
  const ticker = setInterval(() => void tick(), Math.max(20, Math.min(250, graceMs / 4)));
  ticker.unref();

  // Answers to calls made here that reached another instance come back through the shared log.
  const repliesAbort = new AbortController();
  if (hub.log.tail) {
    void (async () => {
      while (!repliesAbort.signal.aborted) {
        try {
          const sub = await hub.subscribe(repliesChannel(instance), { signal: repliesAbort.signal });
          for await (const [, reply] of sub) settleLocal(reply.session, reply.callId, reply.result);
        } catch {
          if (repliesAbort.signal.aborted) return;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
    })();
  }

  // The first frame of a session's calls channel, where a stream without a resume id starts.
  // Made by whichever comes first, the first call or the first stream, once per process.
  const origins = new Map<string, Promise<string>>();
  function originOf(info: SessionInfo): Promise<string> {
    const known = info.data[ORIGIN_KEY];
    if (typeof known === 'string') return Promise.resolve(known);
    let making = origins.get(info.id);
    if (!making) {
      making = (async () => {
        const { id } = await hub.publish(channelOf(info.id), { type: 'open' });
        await registry.touch(info.id, { [ORIGIN_KEY]: id });
        return id;
      })().finally(() => origins.delete(info.id));
      origins.set(info.id, making);
    }
    return making;
  }

  function settleLocal(session: string, callId: string, result: ReverseResult): boolean {
    const p = pending.get(callId);
    if (!p || p.session !== session) return false;
    p.settle(result);
    return true;
  }

  async function call(
    session: string,
    path: string,
    input: unknown,
    callOpts: CallOptions = {},
  ): Promise<unknown> {
    if (closed) throw new CorbelError('CLOSED', 'the reverse service is closed');
    const spec = handlers[path];
    if (!spec) throw new TypeError(`"${path}" is not a handler of this contract`);
    const parsed = spec.input.safeParse(input);
    if (!parsed.success) {
      throw new CorbelError('INVALID_PAYLOAD', `input for ${path} is invalid: ${parsed.error.message}`);
    }
    const bytes = payloadSize(parsed.data);
    if (bytes > maxPayloadBytes) {
      throw new CorbelError(
        'PAYLOAD_TOO_LARGE',
        `input for ${path} is ${bytes} bytes; at most ${maxPayloadBytes} are allowed`,
      );
    }
    const timeoutMs = Math.min(Math.max(1, callOpts.timeoutMs ?? defaultTimeoutMs), maxTimeoutMs);
    const signal = callOpts.signal;
    const cancelled = () => new CorbelError('CALL_CANCELLED', `call to ${path} was cancelled by the caller`);
    if (signal?.aborted) throw cancelled();
    const callIds = await idsReady();
    const info = await registry.get(session);
    if (!info)
      throw new CorbelError('CLIENT_GONE', `session ${sessionRef(session)} is unknown or has expired`);
    // Before the first call, so a stream the client opens a moment later still replays it.
    await originOf(info);
    if (signal?.aborted) throw cancelled();
    const waiting = pendingPer.get(session) ?? 0;
    if (waiting >= maxPending) {
      throw new CorbelError(
        'LIMIT_EXCEEDED',
        `client ${sessionRef(session)} already has ${waiting} calls waiting (at most ${maxPending})`,
      );
    }
    const callId = callIds.mint(session);
    const channel = channelOf(session);
    return new Promise<unknown>((resolve, reject) => {
      let done = false;
      const finish = () => {
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        pending.delete(callId);
        const n = (pendingPer.get(session) ?? 1) - 1;
        if (n > 0) pendingPer.set(session, n);
        else {
          pendingPer.delete(session);
          downSince.delete(session);
        }
      };
      const fail = (error: Error, withdraw: boolean) => {
        if (done) return;
        finish();
        reject(error);
        // Tell the client, so the handler's signal aborts and a late delivery is skipped.
        if (withdraw) void hub.publish(channel, { type: 'cancel', callId }).catch(() => {});
      };
      const settle = (result: ReverseResult) => {
        if (done) return;
        if (!result.ok) {
          fail(
            new CorbelError(
              result.error.code,
              `${path} on client ${sessionRef(session)}: ${result.error.message}`,
            ),
            false,
          );
          return;
        }
        const out = spec.output.safeParse(result.output);
        if (!out.success) {
          fail(
            new CorbelError(
              'INVALID_PAYLOAD',
              `client ${sessionRef(session)} answered ${path} with an invalid output: ${out.error.message}`,
            ),
            false,
          );
          return;
        }
        finish();
        resolve(out.data);
      };
      const onAbort = () => fail(cancelled(), true);
      const timer = setTimeout(
        () =>
          fail(
            new CorbelError(
              'TIMEOUT',
              `client ${sessionRef(session)} did not answer ${path} within ${timeoutMs} ms`,
            ),
            true,
          ),
        timeoutMs,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      // Registered before the call is published: an answer can arrive before publish resolves.
      pending.set(callId, { session, path, settle, fail });
      pendingPer.set(session, waiting + 1);
      if (presence.local(session) === 0 && !presence.upElsewhere(info) && !downSince.has(session)) {
        downSince.set(session, Date.now());
      }
      hub
        .publish(channel, {
          type: 'call',
          callId,
          path,
          input: parsed.data,
          deadline: Date.now() + timeoutMs,
        })
        .catch((error) => fail(CorbelError.from(error, 'STORE_UNAVAILABLE'), false));
    });
  }

  const to = (session: string): ReverseHandle<C> => ({
    session,
    ref: sessionRef(session),
    call: (path, input, callOpts) => call(session, path, input, callOpts) as Promise<any>,
  });

  async function callMany(
    sessions: readonly string[],
    path: string,
    input: unknown,
    manyOpts: CallManyOptions = {},
  ): Promise<SettledCall<any>[]> {
    const results = await settleAll(sessions, manyOpts.concurrency ?? concurrency, (session) =>
      call(session, path, input, manyOpts),
    );
    return results.map((r) => ({ ...r, ref: sessionRef(r.target) }));
  }

  const connected = async () => (await registry.list()).filter((s) => presence.isConnected(s));

  return {
    handlers,
    instance,
    async ready() {
      await idsReady();
    },
    to,
    async callbackOf(owner, session) {
      const info = await registry.get(session);
      if (!info)
        throw new CorbelError('CLIENT_GONE', `session ${sessionRef(session)} is unknown or has expired`);
      if (info.owner !== owner) {
        throw new CorbelError('FORBIDDEN', `session ${sessionRef(session)}… belongs to another identity`);
      }
      return to(session);
    },
    call: (session, path, input, callOpts) => call(session, path, input, callOpts) as Promise<any>,
    callMany: (sessions, path, input, manyOpts) => callMany(sessions, path, input, manyOpts),
    async callIdentity(owner, path, input, manyOpts) {
      const sessions = (await connected()).filter((s) => s.owner === owner).map((s) => s.id);
      return callMany(sessions, path, input, manyOpts);
    },
    async callAll(path, input, manyOpts) {
      return callMany(
        (await connected()).map((s) => s.id),
        path,
        input,
        manyOpts,
      );
    },
    connected,

    async calls(session, owner, { after, signal } = {}) {
      const info = await registry.get(session);
      if (!info) {
        throw new TRPCError({
          code: 'NOT_FOUND',
          message: `session ${sessionRef(session)}… is unknown or has expired; open a new one`,
        });
      }
      if (info.owner !== owner) {
        throw new CorbelError('FORBIDDEN', `session ${sessionRef(session)}… belongs to another identity`);
      }
      const channel = channelOf(session);
      // A first stream starts from the session's origin, not "live only": calls made
      // before the client ever received a frame are then replayed after a reconnect.
      const origin = await originOf(info);
      const sub = await hub.subscribe(channel, {
        after: after ?? origin,
        // A call past its deadline is dead on the server: never deliver (or run) it.
        filter: (frame) => frame.type !== 'call' || frame.deadline > Date.now(),
        signal,
      });
      linkOpened(session);
      return (async function* () {
        try {
          for await (const [eventId, frame] of sub) {
            if (frame.type !== 'open') yield tracked(eventId, frame);
          }
        } finally {
          linkClosed(session);
        }
      })();
    },

    async reply(owner, { session, callId, result }) {
      const info = await registry.get(session);
      if (!info || info.owner !== owner) {
        throw new CorbelError('FORBIDDEN', `session ${sessionRef(session)}… is not yours`);
      }
      const callIds = await idsReady();
      const inst = callIds.verify(callId, session);
      if (inst === null) {
        throw new CorbelError('FORBIDDEN', `call ${callId.slice(0, 40)} was not addressed to this session`);
      }
      if (inst === instance) return { accepted: settleLocal(session, callId, result) };
      await hub.publish(repliesChannel(inst), { session, callId, result });
      return { accepted: true };
    },

    stats() {
      return { pending: pending.size, links: presence.total() };
    },

    close() {
      if (closed) return;
      closed = true;
      clearInterval(ticker);
      repliesAbort.abort();
      for (const p of [...pending.values()])
        p.fail(new CorbelError('CLOSED', 'the server is shutting down'), false);
    },
  };
}
