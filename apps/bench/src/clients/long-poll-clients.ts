/**
 * The long-poll bench's subscribers: `n` of one transport in this process,
 * on plain node:http (no client library on the measured path), counting
 * every event and its publish-to-receipt latency.
 *
 * - sse: one event stream each, parsed frame by frame;
 * - long-poll: a loop of polls each (protocol.md section 4.4, `wait=25000`),
 *   the next one sent from the answer's `lastEventId` as soon as it arrives.
 */
import { Agent, request } from 'node:http';
import { nowMs } from '../bench-router.js';
import { emit, serveIpc } from '../ipc.js';
import { percentile } from '../stats.js';

const PATH = `/rpc/events?input=${encodeURIComponent(JSON.stringify({ json: {} }))}`;

let latencies: number[] = [];
let received = 0;
let errors = 0;
let stopped = false;
const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

const take = (data: { json: { sentAt: number } }) => {
  received++;
  latencies.push(nowMs() - data.json.sentAt);
};

function sse(url: string) {
  const req = request(`${url}${PATH}`, { agent, headers: { accept: 'text/event-stream' } }, (res) => {
    res.setEncoding('utf8');
    let buffer = '';
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (frame.startsWith('id: ')) take(JSON.parse(frame.slice(frame.indexOf('data: ') + 6)));
        end = buffer.indexOf('\n\n');
      }
    });
    res.on('close', () => {
      if (!stopped) errors++;
    });
  });
  req.on('error', () => {
    if (!stopped) errors++;
  });
  req.end();
}

function poll(url: string, cursor: string | null) {
  if (stopped) return;
  const q = `${PATH}&longPoll=1&wait=25000${cursor ? `&lastEventId=${encodeURIComponent(cursor)}` : ''}`;
  const req = request(`${url}${q}`, { agent }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      body += chunk;
    });
    res.on('end', () => {
      let next = cursor;
      try {
        const data = JSON.parse(body).result.data;
        for (const event of data.events) take(event.data);
        next = data.lastEventId ?? cursor;
      } catch {
        // An error answer: poll again from the same id.
        errors++;
      }
      poll(url, next);
    });
  });
  req.on('error', () => {
    if (stopped) return;
    errors++;
    setTimeout(() => poll(url, cursor), 100);
  });
  req.end();
}

serveIpc({
  start: ({ url, transport, n }: { url: string; transport: 'sse' | 'long-poll'; n: number }) => {
    for (let i = 0; i < n; i++) {
      if (transport === 'sse') sse(url);
      else poll(url, null);
    }
  },
  /** Forgets what was measured so far (after the warm-up). */
  reset: () => {
    received = 0;
    latencies = [];
  },
  status: () => ({ received, errors }),
  report: () => {
    stopped = true;
    const sorted = Float64Array.from(latencies).sort();
    return { received, errors, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
  },
});
emit('ready');
