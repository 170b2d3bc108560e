import { createServer, request, type Server } from 'node:http';
import { createConnection, createServer as createTcpServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Fault, seededRandom, startFaultProxy } from './fault-proxy.js';

/** An HTTP server that counts requests and answers with `body`. */
async function origin(body = 'hello'): Promise<{ server: Server; port: number; seen: () => number }> {
  let seen = 0;
  const server = createServer((req, res) => {
    seen++;
    req.resume();
    req.on('end', () => res.end(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, seen: () => seen };
}

/** One request on a fresh connection: the body, or the error code / 'timeout'. */
function get(url: string, timeoutMs = 2000): Promise<{ body?: string; error?: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const req = request(`${url}/`, { agent: false, method: 'POST' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ body, ms: Date.now() - started }));
      res.on('error', (e: NodeJS.ErrnoException) =>
        resolve({ error: e.code ?? e.message, ms: Date.now() - started }),
      );
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
    req.on('error', (e: NodeJS.ErrnoException) =>
      resolve({ error: e.code ?? e.message, ms: Date.now() - started }),
    );
    req.end('ping');
  });
}

describe('fault proxy', () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });
  const setup = async (fault: Fault, body?: string) => {
    const o = await origin(body);
    closers.push(() => new Promise((r) => o.server.close(r)));
    const proxy = await startFaultProxy({ target: { port: o.port }, plan: () => fault });
    closers.push(() => proxy.close());
    o.server.closeAllConnections?.();
    return { ...o, proxy };
  };

  it('passes a request through untouched', async () => {
    const { proxy, seen } = await setup({ kind: 'pass' });
    expect(await get(proxy.url)).toMatchObject({ body: 'hello' });
    expect(seen()).toBe(1);
    expect(proxy.applied).toEqual({ pass: 1 });
  });

  it('reset-before: the client is reset and the server never sees the request', async () => {
    const { proxy, seen } = await setup({ kind: 'reset-before' });
    expect((await get(proxy.url)).error).toBe('ECONNRESET');
    expect(seen()).toBe(0);
  });

  it('reset-after: the server answers, the client is reset instead of reading it', async () => {
    const { proxy, seen } = await setup({ kind: 'reset-after' });
    expect((await get(proxy.url)).error).toBe('ECONNRESET');
    expect(seen()).toBe(1);
  });

  it('stall: the answer never comes and the connection stays open', async () => {
    const { proxy, seen } = await setup({ kind: 'stall' });
    expect((await get(proxy.url, 300)).error).toBe('timeout');
    expect(seen()).toBe(1);
  });

  it('half-open: the client sees its connection closed without an answer', async () => {
    const { proxy, seen } = await setup({ kind: 'half-open' });
    const r = await get(proxy.url);
    expect(r.body).toBeUndefined();
    expect(r.error).toBeDefined();
    expect(seen()).toBe(1);
  });

  it('latency delays the exchange by at least twice `ms`', async () => {
    const { proxy } = await setup({ kind: 'latency', ms: 150 });
    const r = await get(proxy.url);
    expect(r.body).toBe('hello');
    expect(r.ms).toBeGreaterThanOrEqual(290);
  });

  it('slow-read delivers the whole answer, a few bytes at a time', async () => {
    const { proxy } = await setup({ kind: 'slow-read', bytes: 40, everyMs: 20 }, 'x'.repeat(400));
    const r = await get(proxy.url, 5000);
    expect(r.body).toBe('x'.repeat(400));
    // The head plus 400 bytes in 40-byte pieces: at least ten pieces 20 ms apart.
    expect(r.ms).toBeGreaterThanOrEqual(180);
  });

  describe('mid-connection faults on a long-lived connection', () => {
    /** An echo server behind a pass-through proxy, and one open connection through it. */
    const echo = async () => {
      const server = createTcpServer((socket) => {
        socket.on('error', () => {});
        socket.pipe(socket);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const proxy = await startFaultProxy({ target: { port: (server.address() as { port: number }).port } });
      const socket: Socket = createConnection({ host: '127.0.0.1', port: proxy.port });
      closers.push(async () => {
        socket.destroy();
        await proxy.close();
        server.close();
      });
      const events: string[] = [];
      socket.on('error', (e: NodeJS.ErrnoException) => events.push(e.code ?? 'error'));
      socket.on('end', () => events.push('end'));
      await new Promise((resolve) => socket.once('connect', resolve));
      /** Round trip of one message: its time, or undefined when none came back in 2 s. */
      const roundTrip = (text: string) =>
        new Promise<number | undefined>((resolve) => {
          const started = Date.now();
          const timer = setTimeout(() => resolve(undefined), 2000);
          socket.once('data', () => {
            clearTimeout(timer);
            resolve(Date.now() - started);
          });
          socket.write(text);
        });
      return { proxy, socket, events, roundTrip };
    };
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    it('stallFor holds every byte for the window, then delivers it', async () => {
      const { proxy, roundTrip } = await echo();
      expect(await roundTrip('a')).toBeLessThan(200);
      proxy.stallFor(300);
      expect(await roundTrip('b')).toBeGreaterThanOrEqual(280);
      expect(await roundTrip('c')).toBeLessThan(200);
    });

    it('latencyFor adds its delay to every chunk while the window lasts', async () => {
      const { proxy, roundTrip } = await echo();
      proxy.latencyFor(600, 150);
      expect(await roundTrip('a')).toBeGreaterThanOrEqual(290);
      await sleep(700);
      expect(await roundTrip('b')).toBeLessThan(200);
    });

    it('resetAll resets the open connection', async () => {
      const { proxy, events } = await echo();
      proxy.resetAll();
      await sleep(100);
      expect(events).toContain('ECONNRESET');
    });

    it('halfOpenAll ends the connection with a FIN and drops the answer', async () => {
      const { proxy, events, roundTrip } = await echo();
      proxy.halfOpenAll();
      await sleep(50);
      expect(events).toEqual(['end']);
      expect(await roundTrip('a')).toBeUndefined();
    });
  });

  it('a seed replays the same random sequence', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const c = seededRandom(8);
    const seq = (r: () => number) => Array.from({ length: 5 }, r);
    const first = seq(a);
    expect(seq(b)).toEqual(first);
    expect(seq(c)).not.toEqual(first);
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});
