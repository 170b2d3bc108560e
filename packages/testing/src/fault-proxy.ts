import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * What the proxy does to one connection:
 * - `pass`: forwards both ways untouched;
 * - `reset-before`: resets the client as soon as it sends, before anything
 *   reaches the upstream (the request was never seen);
 * - `reset-after`: forwards the request, then resets the client when the
 *   upstream's answer starts (the request ran; its answer is lost);
 * - `stall`: forwards the request, then holds the answer back forever
 *   (the connection stays open, as behind a dead middlebox);
 * - `half-open`: forwards the request, then ends the client's side with a
 *   FIN and drops the answer (the client sees a clean close, no answer);
 * - `latency`: delays every chunk both ways by `ms`;
 * - `slow-read`: delivers the answer `bytes` at a time every `everyMs`.
 */
export type Fault =
  | { kind: 'pass' }
  | { kind: 'reset-before' }
  | { kind: 'reset-after' }
  | { kind: 'stall' }
  | { kind: 'half-open' }
  | { kind: 'latency'; ms: number }
  | { kind: 'slow-read'; bytes: number; everyMs: number };

export interface FaultProxyOptions {
  /** Where connections go (a station, a Redis): loopback host and port. */
  target: { host?: string | undefined; port: number };
  /** The fault of the n-th connection (0-based); default: every one passes. */
  plan?: ((connection: number) => Fault) | undefined;
}

export interface FaultProxy extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` of the proxy. */
  readonly url: string;
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** The faults applied so far, by kind. */
  readonly applied: Readonly<Record<string, number>>;
  /** Changes the plan for connections still to come. */
  setPlan(plan: (connection: number) => Fault): void;
  /** Destroys every open connection now (as if the network dropped them). */
  cutAll(): void;
  /**
   * Mid-connection faults, for long-lived connections (a server's Redis
   * connections) that a per-connection plan touches only once, when they
   * open. Each applies to every connection open now (and, for the windows,
   * to the ones opened during it):
   * - `resetAll`: resets every client side (RST) and closes its upstream;
   * - `halfOpenAll`: ends every client side with a FIN and drops whatever
   *   the upstream answers from then on (the upstream side stays open);
   * - `stallFor(ms)`: holds every byte, both ways, for `ms`, then delivers
   *   it all in order (a middlebox that froze, then recovered);
   * - `latencyFor(ms, extraMs)`: for `ms`, every chunk arrives `extraMs` late
   *   (a latency spike).
   */
  resetAll(): void;
  halfOpenAll(): void;
  stallFor(ms: number): void;
  latencyFor(ms: number, extraMs: number): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy on 127.0.0.1 (port 0) that injects network faults per
 * connection: resets before and after the answer, stalls, half-open
 * closes, latency and slow reads. Put it between a client and a server (or
 * a server and Redis) and drive `plan` from a seeded random source so a
 * failing run replays.
 *
 * @example
 * await using proxy = await startFaultProxy({ target: { port: station.port }, plan: (n) => n === 0 ? { kind: 'reset-after' } : { kind: 'pass' } });
 * await fetch(`${proxy.url}/rpc/weather.report`, { method: 'POST', headers, body });
 */
export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  let plan = opts.plan ?? (() => ({ kind: 'pass' }) as Fault);
  let connections = 0;
  const applied: Record<string, number> = {};
  const open = new Set<Socket>();
  /** Client sides of connections that forward, with how to half-open them. */
  const clients = new Map<Socket, () => void>();
  let stallUntil = 0;
  let spikeUntil = 0;
  let spikeMs = 0;
  /** How long a chunk arriving now waits under the current windows. */
  const holdFor = () => {
    const now = Date.now();
    return Math.max(0, stallUntil - now) + (now < spikeUntil ? spikeMs : 0);
  };
  const track = (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    // A reset is an expected outcome here, not a crash.
    socket.on('error', () => {});
  };

  const server: Server = createServer((client) => {
    const fault = plan(connections++);
    applied[fault.kind] = (applied[fault.kind] ?? 0) + 1;
    track(client);
    if (fault.kind === 'reset-before') {
      client.once('data', () => client.resetAndDestroy());
      return;
    }
    const upstream = createConnection({ host: opts.target.host ?? '127.0.0.1', port: opts.target.port });
    track(upstream);
    // Answers delivered late (latency, slow reads) are chained so they keep
    // their order, and the client's side ends only after the last of them.
    let delivered = Promise.resolve();
    const forwards = fault.kind === 'pass' || fault.kind === 'latency' || fault.kind === 'slow-read';
    // Mid-connection windows (stallFor, latencyFor): chunks that must wait
    // are chained per direction so they keep their order.
    let halfOpen = false;
    let upQueued = 0;
    let up = Promise.resolve();
    const toUpstream = (chunk: Buffer) => {
      const hold = holdFor();
      if (hold === 0 && upQueued === 0) return void upstream.write(chunk);
      const due = Date.now() + hold;
      upQueued++;
      up = up.then(async () => {
        await sleep(due - Date.now());
        upQueued--;
        if (!upstream.destroyed) upstream.write(chunk);
      });
    };
    let downQueued = 0;
    const toClient = (chunk: Buffer) => {
      if (halfOpen) return;
      const hold = holdFor();
      if (hold === 0 && downQueued === 0) return void client.write(chunk);
      const due = Date.now() + hold;
      downQueued++;
      delivered = delivered.then(async () => {
        await sleep(due - Date.now());
        downQueued--;
        if (!halfOpen && !client.destroyed) client.write(chunk);
      });
    };
    if (forwards) {
      clients.set(client, () => {
        halfOpen = true;
        client.end();
      });
      client.once('close', () => clients.delete(client));
    }
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => {
      if (forwards) void delivered.then(() => client.end());
    });
    client.on('data', (chunk: Buffer) => {
      if (fault.kind === 'latency') setTimeout(() => upstream.write(chunk), fault.ms).unref();
      else toUpstream(chunk);
    });
    client.on('end', () => {
      if (fault.kind !== 'half-open') upstream.end();
    });
    upstream.on('data', (chunk: Buffer) => {
      switch (fault.kind) {
        case 'reset-after':
          client.resetAndDestroy();
          upstream.destroy();
          return;
        case 'stall':
          return;
        case 'half-open':
          client.end();
          return;
        case 'latency': {
          const due = Date.now() + fault.ms;
          delivered = delivered.then(async () => {
            await sleep(due - Date.now());
            client.write(chunk);
          });
          return;
        }
        case 'slow-read':
          upstream.pause();
          delivered = delivered
            .then(() => trickle(client, chunk, fault.bytes, fault.everyMs))
            .then(() => void upstream.resume());
          return;
        default:
          toClient(chunk);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const cutAll = () => {
    for (const socket of open) socket.destroy();
  };
  const resetAll = () => {
    for (const client of [...clients.keys()]) client.resetAndDestroy();
  };
  const halfOpenAll = () => {
    for (const end of [...clients.values()]) end();
  };
  const close = async () => {
    cutAll();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get connections() {
      return connections;
    },
    applied,
    setPlan(next) {
      plan = next;
    },
    cutAll,
    resetAll,
    halfOpenAll,
    stallFor(ms) {
      stallUntil = Math.max(stallUntil, Date.now() + ms);
    },
    latencyFor(ms, extraMs) {
      spikeUntil = Date.now() + ms;
      spikeMs = extraMs;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Writes `chunk` to `socket` `bytes` at a time, one piece every `everyMs`. */
async function trickle(socket: Socket, chunk: Buffer, bytes: number, everyMs: number): Promise<void> {
  for (let at = 0; at < chunk.length && !socket.destroyed; at += bytes) {
    socket.write(chunk.subarray(at, at + bytes));
    await sleep(everyMs);
  }
}

/**
 * A seeded random source (mulberry32): the same seed gives the same
 * sequence, so a fault schedule that failed can be replayed.
 *
 * @example
 * const random = seededRandom(42); const fault = random() < 0.1 ? { kind: 'reset-after' } : { kind: 'pass' };
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
