/**
 * N subscribers in one process, measured the same way for every contender:
 * SSE contenders (corbel, trpc, raw) over node:http with a minimal SSE frame
 * scanner (one EventSource object per connection would make the client the
 * bottleneck); Socket.IO over raw `ws` speaking Engine.IO v4 frames, for the
 * same reason. Each event's publish time is read from its `"sentAt":` field
 * (or its `"at":` date with `stampField: 'at'`, for the weather router).
 */
import { type ClientRequest, request } from 'node:http';
import WebSocket from 'ws';
import { nowMs } from '../bench-router.js';
import { emit, serveIpc } from '../ipc.js';
import { percentile } from '../stats.js';
import { openAll } from './open-all.js';

let stamp = '"sentAt":';

let received = 0;
let streamErrors = 0;
let ended = 0;
let measuring = false;
const samples = new Float64Array(2_000_000);
let sampleCount = 0;
let progressTimer: NodeJS.Timeout | undefined;
const closers: (() => void)[] = [];
// Bumped on close, so late events of closed subscribers do not count in the next run.
let generation = 0;

/** Records one event's latency from the stamp found at `at` in `text`. */
function sample(text: string, at: number, now: number) {
  if (!measuring || sampleCount >= samples.length) return;
  let sent: number;
  if (stamp === '"sentAt":') sent = Number.parseFloat(text.slice(at + stamp.length, at + stamp.length + 24));
  else sent = Date.parse(text.slice(at + stamp.length, at + stamp.length + 24));
  if (Number.isFinite(sent)) samples[sampleCount++] = now - sent;
}

// The source address of every connection (`connect`'s `localAddress`): the
// scale check spreads its subscribers over 127.0.0.x, so that no one source
// address runs out of ephemeral ports.
let localAddress: string | undefined;

/** One SSE subscriber; resolves once the `connected` frame arrived. */
function openSse(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let connected = false;
    const gen = generation;
    const req: ClientRequest = request(
      url,
      { agent: false, localAddress, headers: { accept: 'text/event-stream' } },
      (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`status ${res.statusCode}`));
          res.resume();
          return;
        }
        res.setEncoding('utf8');
        let rest = '';
        res.on('data', (chunk: string) => {
          if (gen !== generation) return;
          const s = rest.length ? rest + chunk : chunk;
          const now = measuring ? nowMs() : 0;
          let pos = 0;
          for (;;) {
            // Stock tRPC ends frames with an extra newline; Corbel and raw do not.
            while (s.charCodeAt(pos) === 10) pos++;
            const end = s.indexOf('\n\n', pos);
            if (end < 0) break;
            const first = s.charCodeAt(pos);
            if (first === 105 /* id: */ || first === 100 /* data: */) {
              received++;
              if (measuring) {
                const k = s.indexOf(stamp, pos);
                if (k >= 0 && k < end) sample(s, k, now);
              }
            } else {
              const ev = s.indexOf('event: ', pos);
              if (ev >= 0 && ev < end) {
                if (s.startsWith('connected', ev + 7)) {
                  if (!connected) {
                    connected = true;
                    resolve();
                  }
                } else if (s.startsWith('serialized-error', ev + 7) || s.startsWith('return', ev + 7)) {
                  streamErrors++;
                }
              }
            }
            pos = end + 2;
          }
          rest = pos === s.length ? '' : s.slice(pos);
        });
        res.on('close', () => {
          if (gen === generation) ended++;
          if (!connected) reject(new Error('stream closed before it connected'));
        });
      },
    );
    req.on('error', (e) => {
      if (!connected) reject(e);
    });
    req.end();
    closers.push(() => req.destroy());
  });
}

/** One Socket.IO subscriber on raw Engine.IO v4 over a websocket. */
function openSocketIo(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let connected = false;
    const gen = generation;
    const ws = new WebSocket(url.replace(/^http/, 'ws'), { perMessageDeflate: false });
    ws.on('message', (data: Buffer) => {
      if (gen !== generation) return;
      const s = data.toString();
      if (s.startsWith('42')) {
        received++;
        if (measuring) {
          const k = s.indexOf(stamp);
          if (k >= 0) sample(s, k, nowMs());
        }
      } else if (s === '2') ws.send('3');
      else if (s.startsWith('40')) {
        connected = true;
        resolve();
      } else if (s.startsWith('0')) ws.send('40');
    });
    ws.on('error', (e) => {
      if (!connected) reject(e);
    });
    ws.on('close', () => {
      if (gen === generation) ended++;
      if (!connected) reject(new Error('socket closed before it connected'));
    });
    closers.push(() => ws.terminate());
  });
}

serveIpc({
  /** Opens `n` subscribers, at most 200 handshakes at a time. */
  connect: async ({
    url,
    n,
    kind,
    stampField,
    source,
    concurrency = 200,
    retries = 0,
  }: {
    url: string;
    n: number;
    kind: string;
    stampField?: string;
    /** The local address to connect from, e.g. 127.0.0.3. */
    source?: string;
    /** Handshakes in flight at a time. */
    concurrency?: number;
    /** Further attempts for a subscriber whose handshake failed (a refused or timed-out request), as a real client retries. */
    retries?: number;
  }) => {
    stamp = stampField === 'at' ? '"at":"' : '"sentAt":';
    localAddress = source;
    const open = kind === 'socketio' ? openSocketIo : openSse;
    return openAll(n, concurrency, retries, () => open(url));
  },
  status: () => ({ received, streamErrors, ended, t: nowMs() }),
  /** Sends `progress` events with the running total every `everyMs`. */
  progress: ({ everyMs }: { everyMs: number }) => {
    clearInterval(progressTimer);
    if (everyMs > 0) progressTimer = setInterval(() => emit('progress', { received }), everyMs);
  },
  measure: ({ on }: { on: boolean }) => {
    if (on) sampleCount = 0;
    measuring = on;
    return { samples: sampleCount };
  },
  latency: () => {
    const sorted = samples.slice(0, sampleCount).sort();
    return {
      samples: sampleCount,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      max: percentile(sorted, 1),
    };
  },
  /**
   * The latency samples as a histogram of 0.1 ms buckets, `[bucket, count]`
   * pairs: what the scale check merges over several client processes.
   */
  histogram: () => {
    const counts = new Map<number, number>();
    for (let i = 0; i < sampleCount; i++) {
      const b = Math.max(0, Math.round(samples[i]! * 10));
      counts.set(b, (counts.get(b) ?? 0) + 1);
    }
    return { samples: sampleCount, buckets: [...counts] };
  },
  /** Closes every subscriber and resets the counters for the next run. */
  close: () => {
    clearInterval(progressTimer);
    generation++;
    for (const close of closers) close();
    closers.length = 0;
    received = 0;
    streamErrors = 0;
    ended = 0;
    measuring = false;
    sampleCount = 0;
  },
});
emit('ready');
