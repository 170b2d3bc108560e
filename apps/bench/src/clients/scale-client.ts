/**
 * The scale check's subscribers, in one process: up to 19,999 SSE streams on
 * plain sockets, made as cheap as node allows so that the server, not the
 * client, is what the check measures. Every socket reads into one shared
 * buffer (`onread`: no Buffer, string or 'data' event per read), and a byte
 * scanner with its state in typed arrays counts events and reads each one's
 * publish time: no allocation per event or per read. Events are counted by
 * their stamp field (`"sentAt":` for the bench event, `"at":"` for a weather
 * reading), which each event carries exactly once; the latency goes straight
 * into a 0.1 ms histogram.
 */
import { connect, type Socket } from 'node:net';
import { nowMs } from '../bench-router.js';
import { emit, serveIpc } from '../ipc.js';
import { openAll } from './open-all.js';

/** More than a process may hold descriptors for (20,000 here). */
const MAX = 20_000;
/** Bytes of a stamp value kept: an ISO date is 24, a sentAt number fewer. */
const STAMP_MAX = 32;
/** Latency histogram: 0.1 ms buckets up to two minutes. */
const BUCKETS = 1_200_000;

const PHASE_HEAD = 0;
const PHASE_OPENING = 1;
const PHASE_LIVE = 2;
const PHASE_CLOSED = 3;

const phase = new Uint8Array(MAX);
/** Bytes of the current pattern matched so far (or, in PHASE_HEAD, bytes of the status line seen). */
const matched = new Uint8Array(MAX);
/** Bytes of the stamp value collected; 0 when not collecting. */
const stampLen = new Uint8Array(MAX);
const stampBytes = new Uint8Array(MAX * STAMP_MAX);
/** Events each subscriber received since the last reset. */
const perSubscriber = new Uint32Array(MAX);
const histogram = new Uint32Array(BUCKETS);
const sockets: (Socket | undefined)[] = [];
const settle: (((error?: Error) => void) | undefined)[] = [];
const shared = Buffer.allocUnsafe(256 * 1024);

let opened = 0;
let received = 0;
let samples = 0;
let ended = 0;
let measuring = false;
// The time of the read being scanned, taken once per read and only when it has a stamp.
let readNow = 0;

const bytes = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));
const CONNECTED = bytes('event: connected');

/** KMP failure table: where a partial match falls back to on a mismatch. */
function failureOf(p: Uint8Array): Uint8Array {
  const f = new Uint8Array(p.length);
  for (let i = 1, k = 0; i < p.length; i++) {
    while (k > 0 && p[i] !== p[k]) k = f[k - 1]!;
    if (p[i] === p[k]) k++;
    f[i] = k;
  }
  return f;
}
const CONNECTED_FAIL = failureOf(CONNECTED);
let stamp = bytes('"sentAt":');
let stampFail = failureOf(stamp);
/** Weather readings carry an ISO date string; bench events a number of ms. */
let stampIsDate = false;

/** One step of a KMP match of `p`: the new matched length after byte `b`. */
function step(p: Uint8Array, f: Uint8Array, k: number, b: number): number {
  while (k > 0 && p[k] !== b) k = f[k - 1]!;
  return p[k] === b ? k + 1 : 0;
}

const digit = (o: number, i: number) => stampBytes[o + i]! - 48;
const num = (o: number, from: number, len: number) => {
  let v = 0;
  for (let i = 0; i < len; i++) v = v * 10 + digit(o, from + i);
  return v;
};

/** The publish time (ms since the epoch) in subscriber `c`'s stamp bytes; NaN when unreadable. */
function stampTime(c: number, len: number): number {
  const o = c * STAMP_MAX;
  if (stampIsDate) {
    // 2026-11-30T09:17:00.123Z
    if (len < 23) return Number.NaN;
    return Date.UTC(
      num(o, 0, 4),
      num(o, 5, 2) - 1,
      num(o, 8, 2),
      num(o, 11, 2),
      num(o, 14, 2),
      num(o, 17, 2),
      num(o, 20, 3),
    );
  }
  let v = 0;
  let scale = 0;
  for (let i = 0; i < len; i++) {
    const b = stampBytes[o + i]!;
    if (b === 46 /* . */) scale = 1;
    else {
      v = v * 10 + (b - 48);
      if (scale) scale *= 10;
    }
  }
  return scale ? v / scale : v;
}

/** A complete stamp of subscriber `c`: one event received, and its latency when measuring. */
function counted(c: number, len: number): void {
  received++;
  perSubscriber[c]!++;
  if (!measuring) return;
  const sent = stampTime(c, len);
  if (!Number.isFinite(sent)) return;
  if (readNow === 0) readNow = nowMs();
  const b = Math.round((readNow - sent) * 10);
  histogram[b < 0 ? 0 : b >= BUCKETS ? BUCKETS - 1 : b]!++;
  samples++;
}

/** Scans `n` bytes just read by subscriber `c`. */
function scan(c: number, n: number): void {
  readNow = 0;
  const buf = shared;
  let i = 0;
  let p = phase[c]!;
  if (p === PHASE_HEAD) {
    // "HTTP/1.1 200": the status is bytes 9-11 of the first line.
    let k = matched[c]!;
    for (; i < n && k < 12; i++, k++) {
      if (k >= 9 && buf[i] !== (k === 9 ? 50 : 48)) {
        fail(c, new Error(`status ${String.fromCharCode(buf[i]!)}.. from the server`));
        return;
      }
    }
    matched[c] = k;
    if (k < 12) return;
    p = phase[c] = PHASE_OPENING;
    matched[c] = 0;
  }
  if (p === PHASE_OPENING) {
    let k = matched[c]!;
    for (; i < n; i++) {
      k = step(CONNECTED, CONNECTED_FAIL, k, buf[i]!);
      if (k === CONNECTED.length) break;
    }
    if (k < CONNECTED.length) {
      matched[c] = k;
      return;
    }
    i++;
    phase[c] = PHASE_LIVE;
    matched[c] = 0;
    opened++;
    const done = settle[c];
    settle[c] = undefined;
    done?.();
  }
  const o = c * STAMP_MAX;
  let k = matched[c]!;
  let len = stampLen[c]!;
  const s = stamp;
  const sl = s.length;
  for (; i < n; i++) {
    const b = buf[i]!;
    if (len > 0) {
      // Collecting a stamp value (len counts one more than the bytes kept).
      const end = stampIsDate ? b === 34 /* " */ || len > 24 : b === 44 /* , */ || b === 125 /* } */;
      if (end || len > STAMP_MAX) {
        counted(c, len - 1);
        len = 0;
      } else {
        stampBytes[o + len - 1] = b;
        len++;
      }
      continue;
    }
    k = step(s, stampFail, k, b);
    if (k === sl) {
      k = 0;
      len = 1;
    }
  }
  matched[c] = k;
  stampLen[c] = len;
}

function fail(c: number, error: Error): void {
  const done = settle[c];
  settle[c] = undefined;
  phase[c] = PHASE_CLOSED;
  sockets[c]?.destroy();
  done?.(error);
}

/** Opens subscriber `c`; resolves once its `connected` frame arrived. */
function open(c: number, host: string, port: number, request: Buffer, localAddress?: string): Promise<void> {
  phase[c] = PHASE_HEAD;
  matched[c] = 0;
  stampLen[c] = 0;
  perSubscriber[c] = 0;
  return new Promise((resolve, reject) => {
    settle[c] = (error) => (error ? reject(error) : resolve());
    const socket = connect({
      host,
      port,
      localAddress,
      onread: {
        buffer: shared,
        callback: (n: number) => {
          scan(c, n);
          return true;
        },
      },
    });
    sockets[c] = socket;
    socket.once('connect', () => socket.write(request));
    socket.on('error', () => {});
    socket.once('close', () => {
      // A retried subscriber reuses its slot: a failed attempt's late close is not its business.
      if (sockets[c] !== socket) return;
      if (phase[c] === PHASE_LIVE) ended++;
      if (phase[c] !== PHASE_CLOSED) fail(c, new Error('stream closed before it connected'));
    });
  });
}

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

serveIpc({
  /** Opens `n` subscribers, `concurrency` handshakes at a time, each retried up to `retries` times. */
  connect: async ({
    url,
    n,
    stampField,
    source,
    concurrency = 100,
    retries = 0,
  }: {
    url: string;
    n: number;
    stampField: 'at' | 'sentAt';
    source?: string;
    concurrency?: number;
    retries?: number;
  }) => {
    if (n > MAX - 1) throw new Error(`at most ${MAX - 1} subscribers per process`);
    stamp = bytes(stampField === 'at' ? '"at":"' : '"sentAt":');
    stampFail = failureOf(stamp);
    stampIsDate = stampField === 'at';
    const u = new URL(url);
    const request = Buffer.from(
      `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n`,
      'latin1',
    );
    return openAll(n, concurrency, retries, (c) => open(c, u.hostname, Number(u.port), request, source));
  },
  /** Events received, streams that ended, this process's CPU time (ms). */
  status: () => ({ received, ended, open: opened - ended, cpuMs: cpu() }),
  /**
   * Starts (or stops) a measurement: counters and the histogram restart from
   * zero, so each rate step of the check is measured on its own.
   */
  measure: ({ on }: { on: boolean }) => {
    if (on) {
      histogram.fill(0);
      samples = 0;
      received = 0;
      perSubscriber.fill(0);
    }
    measuring = on;
    return { samples };
  },
  /**
   * The latency histogram as `[bucket, count]` pairs (0.1 ms buckets), and
   * the fewest and most events any open subscriber received.
   */
  histogram: () => {
    const buckets: [number, number][] = [];
    for (let b = 0; b < BUCKETS; b++) if (histogram[b]) buckets.push([b, histogram[b]!]);
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    for (let c = 0; c < sockets.length; c++) {
      if (phase[c] !== PHASE_LIVE) continue;
      min = Math.min(min, perSubscriber[c]!);
      max = Math.max(max, perSubscriber[c]!);
    }
    return { samples, buckets, minPerSubscriber: Number.isFinite(min) ? min : 0, maxPerSubscriber: max };
  },
  /** Closes every subscriber. */
  close: () => {
    for (let c = 0; c < sockets.length; c++) {
      phase[c] = PHASE_CLOSED;
      sockets[c]?.destroy();
      sockets[c] = undefined;
    }
    sockets.length = 0;
    measuring = false;
  },
});
// Exits cleanly when stopped, so a CPU profile (`npm run bench -- --profile dir`) is written.
process.once('SIGTERM', () => process.exit(0));
emit('ready');
