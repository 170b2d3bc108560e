import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { initTRPC, tracked } from '@trpc/server';
import superjson from 'superjson';
import { z } from 'zod';

/**
 * A scripted Corbel server for the client's unit tests: a node:http server
 * on 127.0.0.1 that speaks the wire protocol of proto-docs/protocol.md
 * (section 4: frames, resume by header or input, refusals as JSON error
 * documents; section 4.4: long polls) from a log the test publishes to, and
 * that a test can make misbehave one stream at a time: go silent, ping, cut
 * the socket, refuse, end with a serialized error. Several servers may share
 * one log, like instances sharing a Redis log.
 */

/** The router whose type the tests' clients use; its procedures never run (the wire is scripted). */
const t = initTRPC.create({ transformer: superjson });
export const scriptedRouter = t.router({
  ticks: t.procedure
    .input(z.object({ lastEventId: z.string().optional() }).optional())
    .subscription(async function* () {
      yield tracked('never', { n: 0 });
    }),
  report: t.procedure.input(z.object({ n: z.number() })).mutation(({ input }) => input.n),
  echo: t.procedure.input(z.unknown()).query(({ input }) => input),
});
export type ScriptedRouter = typeof scriptedRouter;

export interface LoggedEvent {
  id: string;
  data: { n: number; pad?: string };
}

/** The event log: ordered, ids `e-<n>`, shared by every server given it. */
export class EventLog {
  readonly events: LoggedEvent[] = [];
  private readonly listeners = new Set<(event: LoggedEvent) => void>();

  /** Appends an event `{ n }` (with `pad` when given, to make it larger) and returns its id. */
  publish(n: number, pad?: string): string {
    const event = { id: `e-${this.events.length + 1}`, data: pad === undefined ? { n } : { n, pad } };
    this.events.push(event);
    for (const listener of this.listeners) listener(event);
    return event.id;
  }

  /** The events after `id` (all of them without one), or null when `id` is not one of this log's. */
  after(id: string | undefined): LoggedEvent[] | null {
    if (id === undefined) return [];
    if (id === '0') return [...this.events];
    const at = this.events.findIndex((e) => e.id === id);
    return at < 0 ? null : this.events.slice(at + 1);
  }

  listen(listener: (event: LoggedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export interface SeenRequest {
  method: string;
  /** The procedure path(s) after /rpc/, e.g. "ticks" or "echo,echo". */
  path: string;
  query: URLSearchParams;
  /** The decoded input of a GET (undefined when absent). */
  input: unknown;
  /** The resume id this request asked for: the Last-Event-ID header, else the input's or query's. */
  resumeId: string | undefined;
  lastEventIdHeader: string | undefined;
  authorization: string | undefined;
  headers: IncomingHttpHeaders;
  body: string;
  kind: 'stream' | 'poll' | 'command';
  /** When it arrived (Date.now()). */
  at: number;
}

/** A Corbel error document's `json` (protocol.md section 6.1). */
export function errorShape(opts: {
  code: string;
  httpStatus: number;
  message?: string;
  corbelCode?: string | null;
  retryable?: boolean;
  path?: string;
}) {
  const rpc: Record<string, number> = {
    BAD_REQUEST: -32600,
    UNAUTHORIZED: -32001,
    FORBIDDEN: -32003,
    NOT_FOUND: -32004,
    CONFLICT: -32009,
    PRECONDITION_FAILED: -32012,
    TOO_MANY_REQUESTS: -32029,
  };
  return {
    message: opts.message ?? opts.code,
    code: rpc[opts.code] ?? -32603,
    data: {
      code: opts.code,
      httpStatus: opts.httpStatus,
      path: opts.path ?? 'ticks',
      corbelCode: opts.corbelCode ?? null,
      retryable: opts.retryable ?? false,
    },
  };
}

/** One accepted event stream, driven by its plan. */
export interface ScriptedStream {
  readonly request: SeenRequest;
  /** Writes the `connected` frame (with `retry:` and the inactivity timeout it announces). */
  connected(opts?: { reconnectAfterInactivityMs?: number | undefined; retryMs?: number | undefined }): void;
  /** Writes the logged events after the resume id, then every event published from now on. */
  follow(): void;
  /** Stops writing anything at all (events, pings) while keeping the connection open. */
  silence(): void;
  /** Writes a ping frame every `ms` until the stream closes or is silenced. */
  pingEvery(ms: number): void;
  /** Ends the stream with a `serialized-error` frame. */
  fail(error: ReturnType<typeof errorShape>): void;
  /** Cuts the TCP connection without a frame. */
  destroy(): void;
  readonly closed: boolean;
  /** Bytes written to the stream that the kernel has not yet taken (node's own buffers). */
  unsentBytes(): number;
}

export type StreamPlan = (stream: ScriptedStream) => void;
/** Answers a command (or anything not a stream or poll) itself; return true when it did, false for the default answer (the input back). */
export type CommandPlan = (req: SeenRequest, res: ServerResponse) => boolean;

export interface ScriptedServer extends AsyncDisposable {
  /** The origin, e.g. http://127.0.0.1:40123 (the client appends /rpc). */
  readonly url: string;
  readonly log: EventLog;
  /** Every request, in arrival order. */
  readonly requests: SeenRequest[];
  /** Every accepted stream, in order. */
  readonly streams: ScriptedStream[];
  /** Plans for the next streams, used in order; `defaultPlan` once empty. */
  readonly plans: StreamPlan[];
  defaultPlan: StreamPlan;
  /** Refuses every request before reading it when set (status and error). */
  refuseAll: {
    status: number;
    error: ReturnType<typeof errorShape>;
    headers?: Record<string, string>;
  } | null;
  onCommand: CommandPlan;
  /** Long polls answer `done: true` (the channel ended) when set. */
  pollDone: boolean;
  /** Delays (ms) for the next polls' answers, used in order: each answer is made when its poll arrives and sent this much later (a slow network or proxy). */
  readonly pollDelays: number[];
  streamRequests(): SeenRequest[];
  pollRequests(): SeenRequest[];
  /** Stops listening and cuts every connection (an instance that dies). */
  close(): Promise<void>;
}

/** The plan of a healthy server: connected (retry 50 ms), the backlog, then live events. */
export const healthyPlan =
  (reconnectAfterInactivityMs?: number): StreamPlan =>
  (s) => {
    s.connected({ reconnectAfterInactivityMs });
    s.follow();
  };

/** A plan that refuses the stream with a JSON error document before it starts. */
export const refusePlan =
  (status: number, error: ReturnType<typeof errorShape>, headers: Record<string, string> = {}): StreamPlan =>
  (s) =>
    (s as InternalStream).refuse(status, error, headers);

interface InternalStream extends ScriptedStream {
  refuse(status: number, error: ReturnType<typeof errorShape>, headers: Record<string, string>): void;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/**
 * Starts a scripted server on 127.0.0.1:0.
 *
 * @example
 * await using server = await startScriptedServer();
 * server.plans.push((s) => { s.connected({ reconnectAfterInactivityMs: 300 }); s.follow(); });
 */
export async function startScriptedServer(opts: { log?: EventLog } = {}): Promise<ScriptedServer> {
  const log = opts.log ?? new EventLog();
  const requests: SeenRequest[] = [];
  const streams: ScriptedStream[] = [];
  const sockets = new Set<Socket>();
  const teardowns = new Set<() => void>();

  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => handle(req, res, body));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  const self: ScriptedServer = {
    url: '',
    log,
    requests,
    streams,
    plans: [],
    defaultPlan: healthyPlan(),
    refuseAll: null,
    onCommand: () => false,
    pollDone: false,
    pollDelays: [],
    streamRequests: () => requests.filter((r) => r.kind === 'stream'),
    pollRequests: () => requests.filter((r) => r.kind === 'poll'),
    async close() {
      for (const teardown of teardowns) teardown();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async [Symbol.asyncDispose]() {
      if (server.listening) await self.close();
    },
  };

  function seen(req: IncomingMessage, body: string): SeenRequest {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.replace(/^\/rpc\//, '');
    const rawInput = url.searchParams.get('input');
    const batch = url.searchParams.get('batch') === '1';
    const decode = (raw: string) =>
      batch
        ? Object.fromEntries(
            Object.entries(JSON.parse(raw)).map(([k, v]) => [k, superjson.deserialize(v as never)]),
          )
        : superjson.deserialize(JSON.parse(raw));
    const input = rawInput === null ? undefined : decode(rawInput);
    const header = req.headers['last-event-id'];
    const lastEventIdHeader = typeof header === 'string' && header !== '' ? header : undefined;
    const inputId = (input as { lastEventId?: unknown } | undefined)?.lastEventId;
    const resumeId =
      lastEventIdHeader ??
      (typeof inputId === 'string' ? inputId : undefined) ??
      url.searchParams.get('lastEventId') ??
      undefined;
    const poll = url.searchParams.get('longPoll') === '1';
    const stream =
      !poll && req.method === 'GET' && req.headers.accept?.includes('text/event-stream') === true;
    return {
      method: req.method ?? 'GET',
      path,
      query: url.searchParams,
      input,
      resumeId,
      lastEventIdHeader,
      authorization: req.headers.authorization,
      headers: req.headers,
      body,
      kind: stream ? 'stream' : poll ? 'poll' : 'command',
      at: Date.now(),
    };
  }

  function handle(req: IncomingMessage, res: ServerResponse, body: string) {
    const request = seen(req, body);
    requests.push(request);
    if (self.refuseAll) {
      sendJson(res, self.refuseAll.status, { error: { json: self.refuseAll.error } }, self.refuseAll.headers);
      return;
    }
    if (request.kind === 'stream') return openStream(request, res);
    if (request.kind === 'poll') return answerPoll(request, res);
    if (self.onCommand(request, res)) return;
    // The default command answer: each call's input back, as `echo` and `report` answer.
    const batch = request.query.get('batch') === '1';
    const raw = req.method === 'POST' && body ? JSON.parse(body) : undefined;
    if (!batch) {
      const input = raw === undefined ? request.input : superjson.deserialize(raw);
      return sendJson(res, 200, { result: { data: superjson.serialize(input) } });
    }
    const inputs = (raw ?? request.input ?? {}) as Record<string, unknown>;
    const calls = request.path.split(',').map((_, i) => {
      const input = raw === undefined ? inputs[i] : superjson.deserialize(inputs[i] as never);
      return { result: { data: superjson.serialize(input) } };
    });
    sendJson(res, 200, calls);
  }

  function answerPoll(request: SeenRequest, res: ServerResponse) {
    const delayMs = self.pollDelays.shift() ?? 0;
    const answer = (events: LoggedEvent[]) => {
      const last = events.at(-1)?.id ?? request.resumeId ?? log.events.at(-1)?.id ?? '0';
      const send = delayMs > 0 ? later(delayMs) : sendJson;
      send(
        res,
        200,
        {
          result: {
            data: {
              events: events.map((e) => ({ id: e.id, data: superjson.serialize(e.data) })),
              lastEventId: last,
              more: false,
              done: self.pollDone,
            },
          },
        },
        { 'cache-control': 'no-store' },
      );
    };
    const backlog = log.after(request.resumeId);
    if (backlog === null) {
      const error = errorShape({ code: 'BAD_REQUEST', httpStatus: 400, corbelCode: 'INVALID_EVENT_ID' });
      return sendJson(res, 400, { error: { json: error } });
    }
    const wait = Number(request.query.get('wait') ?? 25_000);
    if (backlog.length > 0 || wait === 0 || self.pollDone) return answer(backlog);
    const stop = log.listen((event) => finish([event]));
    const timer = setTimeout(() => finish([]), wait);
    res.once('close', () => finish(null));
    teardowns.add(teardown);
    function teardown() {
      stop();
      clearTimeout(timer);
      teardowns.delete(teardown);
    }
    function finish(events: LoggedEvent[] | null) {
      teardown();
      if (events && !res.writableEnded) answer(events);
    }
  }

  /** sendJson, `ms` from now (unless the server closes first). */
  function later(ms: number): typeof sendJson {
    return (res, status, body, headers) => {
      const timer = setTimeout(() => {
        teardowns.delete(teardown);
        if (!res.writableEnded && !res.destroyed) sendJson(res, status, body, headers);
      }, ms);
      const teardown = () => clearTimeout(timer);
      teardowns.add(teardown);
    };
  }

  function openStream(request: SeenRequest, res: ServerResponse) {
    let started = false;
    let silent = false;
    let closed = false;
    let stopFollowing: (() => void) | undefined;
    let pinger: NodeJS.Timeout | undefined;
    const teardown = () => {
      closed = true;
      stopFollowing?.();
      clearInterval(pinger);
      teardowns.delete(teardown);
    };
    teardowns.add(teardown);
    res.once('close', teardown);
    const start = () => {
      if (started) return;
      started = true;
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache, no-transform',
        'x-accel-buffering': 'no',
        connection: 'keep-alive',
      });
    };
    const write = (frame: string) => {
      if (closed || silent) return;
      start();
      res.write(frame);
    };
    const writeEvent = (event: LoggedEvent) =>
      write(`id: ${event.id}\ndata: ${superjson.stringify(event.data)}\n\n`);
    const stream: InternalStream = {
      request,
      get closed() {
        return closed;
      },
      unsentBytes: () => res.writableLength + (res.socket?.writableLength ?? 0),
      connected({ reconnectAfterInactivityMs, retryMs = 50 } = {}) {
        const config = reconnectAfterInactivityMs === undefined ? {} : { reconnectAfterInactivityMs };
        write(`retry: ${retryMs}\nevent: connected\ndata: ${JSON.stringify(config)}\n\n`);
      },
      follow() {
        const backlog = log.after(request.resumeId);
        if (backlog === null) throw new Error(`unknown resume id ${request.resumeId}`);
        for (const event of backlog) writeEvent(event);
        stopFollowing = log.listen(writeEvent);
      },
      silence() {
        silent = true;
        clearInterval(pinger);
      },
      pingEvery(ms) {
        pinger = setInterval(() => write('event: ping\ndata: \n\n'), ms);
      },
      fail(error) {
        write(`event: serialized-error\ndata: ${JSON.stringify({ json: error })}\n\n`);
        res.end();
        teardown();
      },
      destroy() {
        teardown();
        res.socket?.destroy();
      },
      refuse(status, error, headers) {
        teardown();
        sendJson(res, status, { error: { json: error } }, headers);
      },
    };
    streams.push(stream);
    if (request.resumeId !== undefined && log.after(request.resumeId) === null) {
      const error = errorShape({ code: 'BAD_REQUEST', httpStatus: 400, corbelCode: 'INVALID_EVENT_ID' });
      return stream.refuse(400, error, {});
    }
    (self.plans.shift() ?? self.defaultPlan)(stream);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  (self as { url: string }).url = `http://127.0.0.1:${port}`;
  return self;
}

/** A plan that accepts the request and never answers it (a frozen process: the kernel still accepts). */
export const hangPlan: StreamPlan = () => {};

/** A URL nothing listens on (bound once, then closed): connecting to it is refused. */
export async function refusingUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

/** Polls `check` every 10 ms until it holds, failing after `ms` with `what`. */
export async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** An instance that reads each request and then drops the connection without answering (a crash mid-request). */
export async function startResettingServer(): Promise<{
  url: string;
  requests: () => number;
  close: () => Promise<void>;
  [Symbol.asyncDispose]: () => Promise<void>;
}> {
  let requests = 0;
  const server = createNetServer((socket) => {
    socket.once('data', () => {
      requests++;
      socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return { url: `http://127.0.0.1:${port}`, requests: () => requests, close, [Symbol.asyncDispose]: close };
}
