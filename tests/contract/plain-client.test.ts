/**
 * A minimal Corbel client with no tRPC and no superjson: plain fetch and a
 * hand-written SSE parser, built from proto-docs/protocol.md alone (the
 * section numbers below point into it). If this test needs anything the
 * protocol page does not say, the page is incomplete.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { startStation } from '../../apps/weather/src/station-server.js';

const TOKEN = 'plain-client-secret';

// §2: decode an envelope by applying meta.values annotations.
function decode(envelope: { json: unknown; meta?: { values?: unknown } }): any {
  const values = envelope.meta?.values;
  if (values === undefined) return envelope.json;
  if (Array.isArray(values)) return revive(envelope.json, values);
  let root: any = envelope.json;
  for (const [path, annotation] of Object.entries(values as Record<string, unknown[]>)) {
    const keys = path.split(/(?<!\\)\./).map((k) => k.replace(/\\\./g, '.'));
    const last = keys.pop()!;
    let parent = root;
    for (const k of keys) parent = parent[k];
    if (keys.length === 0 && last === '') root = revive(root, annotation);
    else parent[last] = revive(parent[last], annotation);
  }
  return root;
}

function revive(value: any, annotation: unknown[]): any {
  switch (annotation[0]) {
    case 'Date':
      return new Date(value);
    case 'bigint':
      return BigInt(value);
    case 'undefined':
      return undefined;
    case 'set':
      return new Set(value);
    case 'map':
      return new Map(value);
    default:
      throw new Error(`annotation ${JSON.stringify(annotation)} not handled by this client`);
  }
}

// §2: plain JSON inputs are sent as {"json": value}.
const envelope = (input: unknown) => JSON.stringify({ json: input });
const auth = { authorization: `Bearer ${TOKEN}` };

// §3.1: queries are GET ?input=, mutations POST a body.
async function query(base: string, path: string, input: unknown, headers: Record<string, string> = auth) {
  const res = await fetch(`${base}/rpc/${path}?input=${encodeURIComponent(envelope(input))}`, { headers });
  return { status: res.status, body: (await res.json()) as any };
}

async function mutate(base: string, path: string, input: unknown) {
  const res = await fetch(`${base}/rpc/${path}`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: envelope(input),
  });
  return { status: res.status, body: (await res.json()) as any };
}

interface Frame {
  event: string;
  data: string;
  id?: string;
  retry?: number;
}

/** §4: opens a stream; a non-200 answer is an error document (§4.1). */
async function subscribe(base: string, path: string, input: unknown, lastEventId?: string) {
  const abort = new AbortController();
  const res = await fetch(`${base}/rpc/${path}?input=${encodeURIComponent(envelope(input))}`, {
    headers: {
      ...auth,
      accept: 'text/event-stream',
      ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
    },
    signal: abort.signal,
  });
  if (res.status !== 200)
    return { status: res.status, error: (await res.json()) as any, frames: null, close() {} };
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let current: Frame = { event: 'message', data: '' };
  let hasData = false;
  const ready: Frame[] = [];
  // §4.2: standard SSE lines; a blank line ends a frame.
  async function next(): Promise<Frame | null> {
    while (ready.length === 0) {
      const { value, done } = await reader.read();
      if (done) return null;
      buffer += value;
      let nl = buffer.indexOf('\n');
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line === '') {
          if (hasData || current.event !== 'message') ready.push(current);
          current = { event: 'message', data: '' };
          hasData = false;
        } else if (!line.startsWith(':')) {
          const colon = line.indexOf(':');
          const field = line.slice(0, colon);
          const value = line.slice(colon + 1).replace(/^ /, '');
          if (field === 'data') {
            current.data = hasData ? `${current.data}\n${value}` : value;
            hasData = true;
          } else if (field === 'event') current.event = value;
          else if (field === 'id') current.id = value;
          else if (field === 'retry') current.retry = Number(value);
        }
        nl = buffer.indexOf('\n');
      }
    }
    return ready.shift()!;
  }
  /** The next n event frames, skipping pings. */
  async function events(n: number): Promise<Frame[]> {
    const out: Frame[] = [];
    while (out.length < n) {
      const frame = await next();
      if (!frame) break;
      if (frame.event === 'ping') continue;
      out.push(frame);
    }
    return out;
  }
  return { status: res.status, error: null, frames: { next, events }, close: () => abort.abort() };
}

const stations: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(stations.splice(0).map((s) => s.close()));
});

async function station() {
  const s = await startStation({ token: TOKEN });
  stations.push(s);
  return s;
}

describe('a client written from protocol.md alone', () => {
  it('runs commands, single and batched, with superjson values decoded', async () => {
    const { url } = await station();
    const reported = await mutate(url, 'weather.report', { city: 'Oslo', celsius: -3 });
    expect(reported.status).toBe(200);
    const id = decode(reported.body.result.data).id;
    expect(typeof id).toBe('string');

    const latest = await query(url, 'weather.latest', { city: 'Oslo' });
    const reading = decode(latest.body.result.data);
    expect(reading).toMatchObject({ city: 'Oslo', celsius: -3 });
    expect(reading.at).toBeInstanceOf(Date);

    // §3.2: one request, inputs keyed by position, an array back; 207 when statuses differ.
    const batchInput = encodeURIComponent(
      JSON.stringify({ 0: { json: { city: 'Oslo' } }, 1: { json: { city: '' } } }),
    );
    const res = await fetch(`${url}/rpc/weather.latest,weather.latest?batch=1&input=${batchInput}`, {
      headers: auth,
    });
    expect(res.status).toBe(207);
    const [ok, bad] = (await res.json()) as any[];
    expect(decode(ok.result.data).city).toBe('Oslo');
    expect(decode(bad.error).data).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400 });
  });

  it('answers errors with the documented document, status and codes (§6)', async () => {
    const { url } = await station();
    const unauthenticated = await query(url, 'weather.latest', { city: 'Oslo' }, {});
    expect(unauthenticated.status).toBe(401);
    expect(decode(unauthenticated.body.error)).toMatchObject({
      code: -32001,
      data: { code: 'UNAUTHORIZED', httpStatus: 401 },
    });

    const unknown = await query(url, 'weather.lates', { city: 'Oslo' });
    expect(unknown.status).toBe(404);
    expect(decode(unknown.body.error).message).toContain('did you mean "weather.latest"');

    const invalid = await mutate(url, 'weather.report', { city: 'Oslo', celsius: 500 });
    expect(invalid.status).toBe(400);
    const error = decode(invalid.body.error);
    expect(error).toMatchObject({
      code: -32600,
      data: { code: 'BAD_REQUEST', corbelCode: null, retryable: false },
    });
    expect(error.data.issues[0].path).toEqual(['celsius']);

    const wrongMethod = await fetch(`${url}/rpc/weather.report?input=${encodeURIComponent(envelope({}))}`, {
      headers: auth,
    });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
  });

  it('streams events with ids, then resumes with exactly the missed ones (§4, §5)', async () => {
    const { url } = await station();
    const first = await subscribe(url, 'weather.readings', { city: 'Bergen' });
    expect(first.status).toBe(200);
    const connected = await first.frames!.next();
    expect(connected).toMatchObject({ event: 'connected', retry: 1000 });
    expect(JSON.parse(connected!.data)).toHaveProperty('reconnectAfterInactivityMs');

    const ids: string[] = [];
    for (const celsius of [1, 2, 3]) {
      ids.push(
        decode((await mutate(url, 'weather.report', { city: 'Bergen', celsius })).body.result.data).id,
      );
    }
    const received = await first.frames!.events(3);
    expect(received.map((f) => f.id)).toEqual(ids);
    expect(received.map((f) => decode(JSON.parse(f.data)).celsius)).toEqual([1, 2, 3]);
    expect(decode(JSON.parse(received[0]!.data)).at).toBeInstanceOf(Date);
    first.close();

    // Missed while disconnected: 4 and 5 (and another city, which the filter drops).
    for (const [city, celsius] of [
      ['Bergen', 4],
      ['Oslo', 9],
      ['Bergen', 5],
    ] as const) {
      await mutate(url, 'weather.report', { city, celsius });
    }
    const byHeader = await subscribe(url, 'weather.readings', { city: 'Bergen' }, ids[2]);
    expect((await byHeader.frames!.next())?.event).toBe('connected');
    const missed = await byHeader.frames!.events(2);
    expect(missed.map((f) => decode(JSON.parse(f.data)).celsius)).toEqual([4, 5]);
    byHeader.close();

    const byInput = await subscribe(url, 'weather.readings', { city: 'Bergen', lastEventId: ids[2] });
    const again = await byInput.frames!.events(3);
    expect(again.map((f) => f.event)).toEqual(['connected', 'message', 'message']);
    expect(again.slice(1).map((f) => decode(JSON.parse(f.data)).celsius)).toEqual([4, 5]);
    byInput.close();
  });

  it('refuses an unknown or forgotten resume id before the stream starts (§5)', async () => {
    const old = await station();
    const id = decode(
      (await mutate(old.url, 'weather.report', { city: 'Oslo', celsius: 1 })).body.result.data,
    ).id;
    const fresh = await station(); // a new in-memory history: the old id is gone

    const gone = await subscribe(fresh.url, 'weather.readings', {}, id);
    expect(gone.status).toBe(412);
    expect(decode(gone.error.error).data).toMatchObject({ corbelCode: 'HISTORY_GONE', retryable: false });

    const garbage = await subscribe(fresh.url, 'weather.readings', {}, 'not-an-id');
    expect(garbage.status).toBe(400);
    expect(decode(garbage.error.error).data.corbelCode).toBe('INVALID_EVENT_ID');
  });

  it('ends open streams with a retryable serialized-error when the server drains (§4.2)', async () => {
    const s = await station();
    const stream = await subscribe(s.url, 'weather.readings', {});
    expect((await stream.frames!.next())?.event).toBe('connected');
    const closing = s.close();
    const [frame] = await stream.frames!.events(1);
    expect(frame?.event).toBe('serialized-error');
    expect(decode(JSON.parse(frame!.data))).toMatchObject({
      code: -32603,
      data: { code: 'SERVICE_UNAVAILABLE', httpStatus: 503, corbelCode: 'DRAINING', retryable: true },
    });
    expect(await stream.frames!.next()).toBeNull();
    await closing;
  });
});
