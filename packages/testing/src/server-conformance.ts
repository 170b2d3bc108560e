import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorShape, mutationBody, queryInput, type RawResponse, rawRequest } from './http.js';
import { openSse, type SseConnection, type SseFrame } from './sse.js';

/** A running server the suite talks to over real HTTP. */
export interface ServerUnderTest {
  /** Its origin, e.g. http://127.0.0.1:4000 (no base path). */
  url: string;
  close(): Promise<void>;
}

/** One command call: a procedure path and its input. */
export interface CommandCall {
  path: string;
  kind: 'query' | 'mutation';
  input: unknown;
}

export interface ServerConformanceOptions {
  /** Shown in the suite's name. */
  name: string;
  /** Starts the server (once for the suite); `close` is called after it. */
  start(): Promise<ServerUnderTest>;
  /** Where procedures are mounted (default "/rpc"). */
  basePath?: string | undefined;
  /** The bearer token the server requires, if it requires one: auth refusals are checked too. */
  token?: string | undefined;
  /** A query that succeeds. */
  query: CommandCall & { kind: 'query' };
  /**
   * A command whose result carries superjson types (Date, Map, Set, bigint),
   * run after `publish` has run once; each listed type must arrive as itself.
   */
  roundTrip: CommandCall & { types: ('Date' | 'Map' | 'Set' | 'bigint')[] };
  /** A command call with invalid input; `field` is the path its validation issue must name. */
  invalid: CommandCall & { field: (string | number)[] };
  /** An event channel and how to make the server publish on it. */
  events: {
    /** The subscription's path. */
    path: string;
    /**
     * Its input (use a filter so only this suite's events arrive), or a
     * function that prepares a fresh stream (e.g. starts a job) and returns its input.
     */
    input: Record<string, unknown> | (() => Promise<Record<string, unknown>>);
    /**
     * A command that makes the server publish one event matching `input`; `n`
     * counts from 1. Omit it for streams that produce at least three events on
     * their own and then end with a `return` frame (a job's progress).
     */
    publish?(n: number): CommandCall;
    /** The event id from the publishing command's result, when the service returns one. */
    idOf?: ((result: any) => string) | undefined;
    /**
     * A syntactically valid id whose history the server does not have, for the
     * HISTORY_GONE check; omit to skip it.
     */
    goneId?: string | undefined;
  };
}

const JSON_RPC_CODES: Record<string, number> = {
  BAD_REQUEST: -32600,
  UNAUTHORIZED: -32001,
  NOT_FOUND: -32004,
  METHOD_NOT_SUPPORTED: -32005,
  PRECONDITION_FAILED: -32012,
};

/**
 * The contract tests any Corbel service runs against itself over real HTTP:
 * commands round-trip with superjson types intact, errors have the shape and
 * status proto-docs/protocol.md documents, SSE frames and ids follow it,
 * resume gives exactly the missed events, unknown procedures and bad input are
 * refused as documented, and (with `token`) unauthenticated calls are refused.
 * Call it at the top level of a test file; it registers a `describe` block.
 *
 * @example
 * runServerConformance({
 *   name: 'weather station',
 *   start: () => startStation(),
 *   query: { path: 'weather.latest', kind: 'query', input: { city: 'Oslo' } },
 *   roundTrip: { path: 'weather.latest', kind: 'query', input: { city: 'Conformance' }, types: ['Date'] },
 *   invalid: { path: 'weather.report', kind: 'mutation', input: { city: '', celsius: 1 }, field: ['city'] },
 *   events: {
 *     path: 'weather.readings',
 *     input: { city: 'Conformance' },
 *     publish: (n) => ({ path: 'weather.report', kind: 'mutation', input: { city: 'Conformance', celsius: n } }),
 *   },
 * });
 */
export function runServerConformance(opts: ServerConformanceOptions): void {
  const base = opts.basePath ?? '/rpc';
  const auth: Record<string, string> = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
  let server: ServerUnderTest;
  let published = 0;

  const rpc = (path: string) => `${server.url}${base}/${path}`;
  const call = (c: CommandCall, headers: Record<string, string> = auth): Promise<RawResponse> =>
    c.kind === 'query'
      ? rawRequest(`${rpc(c.path)}?${queryInput(c.input)}`, { headers })
      : rawRequest(rpc(c.path), {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: mutationBody(c.input),
        });
  const publish = async (): Promise<string | undefined> => {
    const res = await call(opts.events.publish!(++published));
    expect(res.status, res.text).toBe(200);
    return opts.events.idOf?.(superjson.deserialize(res.json.result.data));
  };
  const selfDriven = !opts.events.publish;
  const streamInput = async () => {
    const input = opts.events.input;
    return typeof input === 'function' ? input() : input;
  };
  /** Every message frame of a self-driven stream, until it ends. */
  const wholeStream = async (input: unknown, headers: Record<string, string> = {}) => {
    await using sse = await openSse(streamUrl(input), { ...auth, ...headers });
    expect(sse.status, sse.body).toBe(200);
    const frames = await sse.collect(10_000, 30_000);
    expect(frames.at(-1)?.event, 'a self-driven stream ends with a return frame').toBe('return');
    return messages(frames);
  };
  const streamUrl = (input: unknown) => `${rpc(opts.events.path)}?${queryInput(input)}`;

  /** Checks the documented error document (protocol.md §6.1) and returns it decoded. */
  const expectError = (res: RawResponse, status: number, code: string) => {
    expect(res.status, res.text).toBe(status);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.json?.error?.json, `an {"error":{"json":…}} document: ${res.text}`).toBeTypeOf('object');
    const error = errorShape(res.json);
    expect(error.message).toBeTypeOf('string');
    expect(error.data.code).toBe(code);
    expect(error.data.httpStatus).toBe(status);
    if (JSON_RPC_CODES[code] !== undefined) expect(error.code).toBe(JSON_RPC_CODES[code]);
    expect(error.data.retryable).toBeTypeOf('boolean');
    expect(error.data.corbelCode === null || typeof error.data.corbelCode === 'string').toBe(true);
    return error;
  };

  describe(`Corbel server conformance: ${opts.name}`, () => {
    beforeAll(async () => {
      server = await opts.start();
    });
    afterAll(async () => {
      await server?.close();
    });

    describe('commands (protocol.md §3)', () => {
      it('a query answers 200 with a superjson result envelope', async () => {
        const res = await call(opts.query);
        expect(res.status, res.text).toBe(200);
        expect(res.json).toHaveProperty('result.data');
        expect(res.json.result.data).toHaveProperty('json');
      });

      it('superjson types survive the round trip', async () => {
        if (selfDriven) await wholeStream(await streamInput());
        else await publish();
        const res = await call(opts.roundTrip);
        expect(res.status, res.text).toBe(200);
        const annotations = JSON.stringify(res.json.result.data.meta?.values ?? {});
        const value = superjson.deserialize(res.json.result.data);
        for (const type of opts.roundTrip.types) {
          expect(annotations, `a ${type} annotation in meta.values`).toContain(
            type === 'Date' || type === 'bigint' ? `"${type}"` : `"${type.toLowerCase()}"`,
          );
          const ctor = { Date, Map, Set }[type as 'Date'];
          expect(
            findValue(value, (v) => (type === 'bigint' ? typeof v === 'bigint' : v instanceof ctor)),
            `a ${type} in the decoded result`,
          ).toBe(true);
        }
      });

      it('a batch answers an array in call order', async () => {
        const q = opts.query;
        const input = encodeURIComponent(
          JSON.stringify({ 0: superjson.serialize(q.input), 1: superjson.serialize(q.input) }),
        );
        const res = await rawRequest(`${rpc(`${q.path},${q.path}`)}?batch=1&input=${input}`, {
          headers: auth,
        });
        expect(res.status, res.text).toBe(200);
        expect(Array.isArray(res.json)).toBe(true);
        expect(res.json).toHaveLength(2);
        expect(res.json[0]).toEqual(res.json[1]);
      });

      it('an unknown procedure is 404 NOT_FOUND naming the closest paths', async () => {
        const near = `${opts.query.path}x`;
        const error = expectError(await call({ ...opts.query, path: near }), 404, 'NOT_FOUND');
        expect(error.message).toContain(`did you mean "${opts.query.path}"`);
      });

      it('invalid input is 400 BAD_REQUEST with the field path in data.issues', async () => {
        const error = expectError(await call(opts.invalid), 400, 'BAD_REQUEST');
        expect(error.data.issues?.map((i: { path: unknown }) => i.path)).toContainEqual(opts.invalid.field);
      });

      it('input that is not JSON is 400 BAD_REQUEST', async () => {
        const q = opts.query;
        const res = await rawRequest(`${rpc(q.path)}?input=${encodeURIComponent('{"json":')}`, {
          headers: auth,
        });
        expectError(res, 400, 'BAD_REQUEST');
      });

      it('the wrong method is 405 METHOD_NOT_SUPPORTED with an allow header', async () => {
        const q = opts.query;
        const res = await rawRequest(rpc(q.path), {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: mutationBody(q.input),
        });
        expectError(res, 405, 'METHOD_NOT_SUPPORTED');
        expect(res.headers.get('allow')).toBe('GET');
      });
    });

    describe('event streams (protocol.md §4, §5)', () => {
      it('starts with retry + connected, then one id: + data: frame per event', async () => {
        await using sse = await openSse(streamUrl(await streamInput()), auth);
        expect(sse.status, sse.body).toBe(200);
        expect(sse.headers['content-type']).toBe('text/event-stream');
        expect(sse.headers['cache-control']).toContain('no-cache');
        const connected = await sse.next();
        expect(connected?.event).toBe('connected');
        expect(connected?.retry).toBeGreaterThan(0);
        expect(() => JSON.parse(connected!.data)).not.toThrow();

        const ids = selfDriven ? [] : [await publish(), await publish(), await publish()];
        const frames = messages(await sse.collect(3, 30_000)).slice(0, 3);
        expect(frames).toHaveLength(3);
        const frameIds = frames.map((f) => f.id);
        expect(new Set(frameIds).size).toBe(3);
        for (const id of frameIds) expect(id).toBeTypeOf('string');
        if (opts.events.idOf && !selfDriven) expect(frameIds).toEqual(ids);
        for (const f of frames) {
          const envelope = JSON.parse(f.data);
          expect(envelope).toHaveProperty('json');
          expect(() => superjson.deserialize(envelope)).not.toThrow();
        }
      });

      it('resumes after Last-Event-ID with exactly the missed events', async () => {
        const input = await streamInput();
        if (selfDriven) {
          const all = await wholeStream(input);
          expect(all.length).toBeGreaterThanOrEqual(3);
          const rest = await wholeStream(input, { 'last-event-id': all[0]!.id! });
          expect(rest.map((f) => f.id)).toEqual(all.slice(1).map((f) => f.id));
          expect(rest.map((f) => f.data)).toEqual(all.slice(1).map((f) => f.data));
          return;
        }
        let last: string;
        {
          await using sse = await openSse(streamUrl(input), auth);
          await sse.next();
          await publish();
          last = messages(await sse.collect(1))[0]!.id!;
        }
        const missed = [await publish(), await publish()];
        await using resumed = await openSse(streamUrl(input), { ...auth, 'last-event-id': last });
        expect(resumed.status).toBe(200);
        const frames = messages(await resumed.collect(2));
        expect(frames).toHaveLength(2);
        if (opts.events.idOf) expect(frames.map((f) => f.id)).toEqual(missed);
        // Nothing else is waiting: the next event is a new one, not a duplicate.
        const next = await publish();
        const [after] = messages(await resumed.collect(1));
        expect(frames.map((f) => f.id)).not.toContain(after!.id);
        if (next) expect(after!.id).toBe(next);
      });

      it('resumes after a lastEventId in the input, the same way', async () => {
        const input = await streamInput();
        if (selfDriven) {
          const all = await wholeStream(input);
          const rest = await wholeStream({ ...input, lastEventId: all[1]!.id! });
          expect(rest.map((f) => f.id)).toEqual(all.slice(2).map((f) => f.id));
          return;
        }
        let last: string;
        {
          await using sse = await openSse(streamUrl(input), auth);
          await sse.next();
          await publish();
          last = messages(await sse.collect(1))[0]!.id!;
        }
        const missed = await publish();
        await using resumed = await openSse(streamUrl({ ...input, lastEventId: last }), auth);
        const [frame] = messages(await resumed.collect(1));
        expect(frame?.id).not.toBe(last);
        expect(frame?.id).toBeTypeOf('string');
        if (missed) expect(frame?.id).toBe(missed);
      });

      it('refuses an id that is not one of its ids with 400 INVALID_EVENT_ID, before the stream', async () => {
        await using sse = await openSse(streamUrl(await streamInput()), {
          ...auth,
          'last-event-id': 'not an id',
        });
        const error = expectError(asRaw(sse), 400, 'BAD_REQUEST');
        expect(error.data.corbelCode).toBe('INVALID_EVENT_ID');
      });

      // Registered only where the service can name a forgotten id: a case
      // that cannot run is left out, not counted as a skipped pass.
      (opts.events.goneId ? it : () => {})(
        'refuses a forgotten id with 412 HISTORY_GONE, before the stream',
        async () => {
          await using sse = await openSse(streamUrl(await streamInput()), {
            ...auth,
            'last-event-id': opts.events.goneId!,
          });
          const error = expectError(asRaw(sse), 412, 'PRECONDITION_FAILED');
          expect(error.data).toMatchObject({ corbelCode: 'HISTORY_GONE', retryable: false });
        },
      );

      it('an unknown channel is refused with 404 before the stream', async () => {
        const input = typeof opts.events.input === 'function' ? {} : opts.events.input;
        await using sse = await openSse(`${rpc(`${opts.events.path}x`)}?${queryInput(input)}`, auth);
        expectError(asRaw(sse), 404, 'NOT_FOUND');
      });
    });

    (opts.token ? describe : () => {})('authentication (protocol.md §7)', () => {
      it('a command without a token is 401 UNAUTHORIZED', async () => {
        expectError(await call(opts.query, {}), 401, 'UNAUTHORIZED');
      });

      it('a command with a wrong token is 401 UNAUTHORIZED', async () => {
        expectError(await call(opts.query, { authorization: 'Bearer wrong' }), 401, 'UNAUTHORIZED');
      });

      it('a stream without a token is refused with 401 before it starts', async () => {
        const input = typeof opts.events.input === 'function' ? {} : opts.events.input;
        await using sse = await openSse(streamUrl(input));
        expectError(asRaw(sse), 401, 'UNAUTHORIZED');
      });

      it('an unknown procedure without a token is 401, not 404 (nothing is revealed)', async () => {
        const res = await call({ ...opts.query, path: `${opts.query.path}x` }, {});
        expect(res.status).toBe(401);
      });

      it('/healthz needs no token', async () => {
        const res = await rawRequest(`${server.url}/healthz`);
        expect(res.status).toBe(200);
      });
    });
  });
}

function messages(frames: SseFrame[]): SseFrame[] {
  return frames.filter((f) => f.event === 'message');
}

/** A refused stream's answer as a RawResponse, for the same error checks as commands. */
function asRaw(sse: SseConnection): RawResponse {
  let json: unknown;
  try {
    json = JSON.parse(sse.body ?? '');
  } catch {
    json = undefined;
  }
  const headers = new Headers();
  for (const [k, v] of Object.entries(sse.headers)) if (typeof v === 'string') headers.set(k, v);
  return { status: sse.status, headers, text: sse.body ?? '', json };
}

function findValue(value: unknown, test: (v: unknown) => boolean, depth = 0): boolean {
  if (test(value)) return true;
  if (depth > 8 || typeof value !== 'object' || value === null) return false;
  const children =
    value instanceof Map
      ? [...value.keys(), ...value.values()]
      : value instanceof Set
        ? [...value]
        : Object.values(value);
  return children.some((v) => findValue(v, test, depth + 1));
}
