/**
 * The command load generator, in its own process: `connections` keep-alive
 * HTTP/1.1 connections on raw sockets, each sending the next request as soon
 * as the previous answer is complete (no pipelining). Raw sockets keep the
 * generator cheap, so the server, not the client, is what gets measured.
 */
import { connect, type Socket } from 'node:net';
import { argsOf, emit, serveIpc } from '../ipc.js';
import { percentile } from '../stats.js';

interface RunArgs {
  url: string;
  path: string;
  body: string;
  connections: number;
  warmupMs: number;
  durationMs: number;
}

const CRLF2 = Buffer.from('\r\n\r\n');
const CHUNK_END = Buffer.from('\r\n0\r\n\r\n');

/** Length of a complete response at the start of `buf`, or -1 when incomplete. */
function responseLength(buf: Buffer): { length: number; status: number } | null {
  const head = buf.indexOf(CRLF2);
  if (head < 0) return null;
  const text = buf.toString('latin1', 0, head);
  const status = Number(text.slice(9, 12));
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(text);
  if (m) {
    const total = head + 4 + Number(m[1]);
    return buf.length >= total ? { length: total, status } : null;
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(text)) {
    const end = buf.indexOf(CHUNK_END, head);
    return end < 0 ? null : { length: end + CHUNK_END.length, status };
  }
  return { length: head + 4, status };
}

async function run(args: RunArgs) {
  const target = new URL(args.url);
  const request = Buffer.from(
    `POST ${args.path} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(args.body)}\r\nConnection: keep-alive\r\n\r\n${args.body}`,
  );
  const latencies = new Float64Array(4_000_000);
  let count = 0;
  let measuring = false;
  let stopped = false;
  let errors = 0;
  let reconnects = 0;
  const sockets: Socket[] = [];

  const open = () => {
    const socket = connect({ host: target.hostname, port: Number(target.port), noDelay: true });
    sockets.push(socket);
    let pending: Buffer | null = null;
    let sentAt = 0;
    const send = () => {
      if (stopped) return;
      sentAt = performance.now();
      socket.write(request);
    };
    socket.on('connect', send);
    socket.on('data', (chunk: Buffer) => {
      pending = pending ? Buffer.concat([pending, chunk]) : chunk;
      for (;;) {
        const r = responseLength(pending);
        if (!r) return;
        if (r.status !== 200) errors++;
        if (measuring && count < latencies.length) latencies[count++] = performance.now() - sentAt;
        pending = r.length === pending.length ? null : pending.subarray(r.length);
        if (!pending) break;
      }
      send();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (stopped) return;
      // The server closed a keep-alive connection (timeout, error): reopen.
      reconnects++;
      open();
    });
  };
  for (let i = 0; i < args.connections; i++) open();

  await new Promise((r) => setTimeout(r, args.warmupMs));
  emit('measuring');
  measuring = true;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, args.durationMs));
  // A window with no answer at all (a short smoke window on a loaded machine)
  // has no latency to report: measure on, a bounded while, until one comes.
  for (let waited = 0; count === 0 && waited < 10_000; waited += 50)
    await new Promise((r) => setTimeout(r, 50));
  measuring = false;
  const elapsedMs = performance.now() - started;
  stopped = true;
  for (const s of sockets) s.destroy();
  const sample = latencies.subarray(0, count);
  sample.sort();
  return {
    requests: count,
    elapsedMs,
    rps: (count * 1000) / elapsedMs,
    p50: percentile(sample, 0.5),
    p99: percentile(sample, 0.99),
    errors,
    reconnects,
  };
}

argsOf();
serveIpc({ run: (a: RunArgs) => run(a) });
emit('ready');
