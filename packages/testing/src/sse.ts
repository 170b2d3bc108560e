import { request } from 'node:http';

/** One Server-Sent Events frame as it came over the wire. */
export interface SseFrame {
  event: string;
  data: string;
  id?: string | undefined;
  retry?: number | undefined;
}

export interface SseConnection extends AsyncDisposable {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The response body when the server refused the stream (non-200). */
  body?: string | undefined;
  /** The next frame, or null once the stream has ended. Rejects after `timeoutMs`. */
  next(timeoutMs?: number): Promise<SseFrame | null>;
  /** Frames until `count` data frames (no `event`, i.e. "message") have arrived. */
  collect(count: number, timeoutMs?: number): Promise<SseFrame[]>;
  close(): void;
}

/**
 * A raw SSE reader on node:http, no EventSource and no tRPC: what a client
 * written from proto-docs/protocol.md alone would see.
 *
 * @example
 * await using sse = await openSse(`${url}/rpc/weather.readings?input=...`, { 'last-event-id': id });
 * const frames = await sse.collect(3);
 */
export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseConnection> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      const status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      if (status !== 200) {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () =>
          resolve({
            status,
            headers: res.headers,
            body,
            next: async () => null,
            collect: async () => [],
            close: () => req.destroy(),
            [Symbol.asyncDispose]: async () => void req.destroy(),
          }),
        );
        return;
      }
      const frames: SseFrame[] = [];
      let ended = false;
      let wake: (() => void) | null = null;
      let buffer = '';
      let current: Partial<SseFrame> & { dataLines?: string[] } = {};
      const flush = () => {
        if (current.dataLines || current.event || current.id !== undefined) {
          frames.push({
            event: current.event ?? 'message',
            data: (current.dataLines ?? []).join('\n'),
            ...(current.id !== undefined ? { id: current.id } : {}),
            ...(current.retry !== undefined ? { retry: current.retry } : {}),
          });
        }
        current = {};
      };
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let nl = buffer.indexOf('\n');
        while (nl >= 0) {
          const line = buffer.slice(0, nl).replace(/\r$/, '');
          buffer = buffer.slice(nl + 1);
          if (line === '') flush();
          else if (!line.startsWith(':')) {
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'data') {
              current.dataLines ??= [];
              current.dataLines.push(value);
            } else if (field === 'event') current.event = value;
            else if (field === 'id') current.id = value;
            else if (field === 'retry') current.retry = Number(value);
          }
          nl = buffer.indexOf('\n');
        }
        wake?.();
      });
      const onEnd = () => {
        ended = true;
        wake?.();
      };
      res.on('end', onEnd);
      res.on('close', onEnd);
      res.on('error', onEnd);
      const next = async (timeoutMs = 10_000): Promise<SseFrame | null> => {
        const deadline = Date.now() + timeoutMs;
        while (frames.length === 0) {
          if (ended) return null;
          const left = deadline - Date.now();
          if (left <= 0) throw new Error(`no SSE frame within ${timeoutMs} ms`);
          await new Promise<void>((r) => {
            const t = setTimeout(r, left);
            wake = () => {
              clearTimeout(t);
              wake = null;
              r();
            };
          });
        }
        return frames.shift()!;
      };
      resolve({
        status,
        headers: res.headers,
        next,
        async collect(count, timeoutMs = 10_000) {
          const out: SseFrame[] = [];
          const deadline = Date.now() + timeoutMs;
          while (out.filter((f) => f.event === 'message').length < count) {
            const frame = await next(Math.max(1, deadline - Date.now()));
            if (!frame) break;
            out.push(frame);
          }
          return out;
        },
        close: () => req.destroy(),
        [Symbol.asyncDispose]: async () => void req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}
