import {
  type Channel,
  CorbelError,
  defineChannel,
  type Hub,
  type LiveSession,
  type SessionInfo,
  type SessionRegistry,
  type StoredEvent,
  sessionChannelName,
  sessionRef,
} from '@corbel/core';
import { TRPCError, type TrackedEnvelope, tracked } from '@trpc/server';
import { z } from 'zod';

export interface SessionServiceOptions<M extends z.ZodType> {
  registry: SessionRegistry;
  hub: Hub;
  /** The schema of private messages (what `send` accepts and `messages` yields). */
  message: M;
  /** How often expired sessions are swept and streaming ones marked seen (default ttl/4, at most 30 s). */
  sweepIntervalMs?: number | undefined;
  /**
   * Called after a session is opened or resumed, with the cursors the client
   * sent (the last ids it processed per channel), e.g. to send a
   * "welcome back, you missed N events" note.
   */
  onOpen?(
    session: SessionInfo,
    info: { resumed: boolean; cursors: Record<string, string> },
  ): void | Promise<void>;
}

export interface SessionService<M extends z.ZodType> {
  readonly registry: SessionRegistry;
  /** Opens a session for `owner`, or resumes `resume` when it is live and theirs. */
  open(
    owner: string,
    opts?: { resume?: string | undefined; cursors?: Record<string, string> | undefined },
  ): Promise<{ session: SessionInfo; resumed: boolean }>;
  /** The live session `id` if `owner` owns it; NOT_FOUND / FORBIDDEN otherwise. */
  authorize(id: string, owner: string): Promise<SessionInfo>;
  /** Sends a private message to one session (stored, so it is replayed on resume). */
  send(id: string, message: z.input<M>): Promise<StoredEvent<z.output<M>>>;
  /** The private stream of `id` for its `owner`, resuming after `after`. */
  messages(
    id: string,
    owner: string,
    opts?: { after?: string | undefined; signal?: AbortSignal | undefined },
  ): Promise<AsyncIterable<TrackedEnvelope<z.output<M>>>>;
  /** Every live session. */
  list(): Promise<LiveSession[]>;
  /** Stops the sweeper (the registry's store is closed with the hub's log). */
  close(): void;
}

/**
 * Sessions on top of a registry and the hub: each session's private channel
 * is `corbel.session.<id>` in the same log as every other event, so private
 * messages are durable and resumable exactly like public ones, and only the
 * owner can subscribe to it (through `messages`, never by channel name).
 *
 * @example
 * const sessions = createSessionService({ registry: store.sessions, hub, message: z.object({ text: z.string() }) });
 * await sessions.send(id, { text: 'welcome back' });
 */
export function createSessionService<M extends z.ZodType>(opts: SessionServiceOptions<M>): SessionService<M> {
  const { registry, hub } = opts;
  const streams = new Map<string, number>();
  // A session's channel starts with an "opened" marker, so a first subscription
  // (no lastEventId yet) can replay the whole mailbox from after it instead of
  // seeing only live messages: a note sent while the client was away is kept.
  const envelope = z.union([
    z.object({ type: z.literal('opened') }),
    z.object({ type: z.literal('message'), message: opts.message }),
  ]);
  const channels = new Map<string, Channel<typeof envelope>>();
  const channelOf = (id: string): Channel<typeof envelope> => {
    let channel = channels.get(id);
    if (!channel) {
      channel = defineChannel(sessionChannelName(id), envelope);
      channels.set(id, channel);
    }
    return channel;
  };

  const notFound = (id: string) =>
    new TRPCError({
      code: 'NOT_FOUND',
      message: `session ${sessionRef(id)}… is unknown or has expired; open a new one`,
    });

  const authorize = async (id: string, owner: string) => {
    const session = await registry.get(id);
    if (!session) throw notFound(id);
    if (session.owner !== owner) {
      throw new CorbelError('FORBIDDEN', `session ${sessionRef(id)}… belongs to another identity`);
    }
    return session;
  };

  const sweep = async () => {
    // Streaming sessions are in use: mark them seen so they never expire mid-stream.
    for (const [id, n] of streams) if (n > 0) await registry.touch(id);
    const gone = await registry.sweep();
    for (const id of gone) channels.delete(id);
  };
  const timer = setInterval(
    () => void sweep().catch(() => {}),
    opts.sweepIntervalMs ?? Math.min(30_000, Math.max(50, registry.ttlMs / 4)),
  );
  timer.unref();

  return {
    registry,
    async open(owner, { resume, cursors = {} } = {}) {
      let session: SessionInfo | null = null;
      if (resume !== undefined) {
        const found = await registry.get(resume);
        if (found && found.owner !== owner) {
          throw new CorbelError('FORBIDDEN', `session ${sessionRef(resume)}… belongs to another identity`);
        }
        if (found) session = await registry.touch(resume);
      }
      const resumed = session !== null;
      if (!session) {
        const opened = await registry.open(owner);
        const marker = await hub.publish(channelOf(opened.id), { type: 'opened' });
        session = (await registry.touch(opened.id, { origin: marker.id })) ?? opened;
      }
      await opts.onOpen?.(session, { resumed, cursors });
      return { session, resumed };
    },
    authorize,
    async send(id, message) {
      if (!(await registry.get(id))) throw notFound(id);
      // The envelope's type is generic in M; zod cannot narrow it here.
      const event = await hub.publish(channelOf(id), { type: 'message', message } as any);
      return { ...event, payload: (event.payload as { message: z.output<M> }).message };
    },
    async messages(id, owner, { after, signal } = {}) {
      const session = await authorize(id, owner);
      const origin = typeof session.data.origin === 'string' ? session.data.origin : undefined;
      const sub = await hub.subscribe(channelOf(id), { after: after ?? origin, signal });
      await registry.touch(id);
      streams.set(id, (streams.get(id) ?? 0) + 1);
      const release = () => {
        const n = (streams.get(id) ?? 1) - 1;
        if (n > 0) streams.set(id, n);
        else streams.delete(id);
        void registry.touch(id).catch(() => {});
      };
      return (async function* () {
        try {
          for await (const [eventId, payload] of sub) {
            const item = payload as { type: string; message?: z.output<M> };
            if (item.type === 'message') yield tracked(eventId, item.message as z.output<M>);
          }
        } finally {
          release();
        }
      })();
    },
    async list() {
      return (await registry.list()).map((s) => ({
        ref: sessionRef(s.id),
        owner: s.owner,
        createdAt: new Date(s.createdAt),
        lastSeenAt: new Date(s.lastSeenAt),
        expiresAt: new Date(s.expiresAt),
        streams: streams.get(s.id) ?? 0,
      }));
    },
    close() {
      clearInterval(timer);
    },
  };
}
