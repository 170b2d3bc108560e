import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface HoldingProxy extends AsyncDisposable {
  url: string;
  /** When true, event streams are held back: not even their headers reach the client. */
  hold: boolean;
  /** When true, every request is answered by a reset connection (a server that is down). */
  down: boolean;
  /** Event-stream responses that reached the proxy (held or passed). */
  streamsSeen: number;
  /** Cuts every open event stream (client side), as a proxy restart would. */
  cutStreams(): void;
  close(): Promise<void>;
}

/**
 * A loopback HTTP proxy in front of `target` that forwards everything but,
 * while `hold` is set, keeps event-stream responses to itself, the way a
 * buffering compressor does: a quick, deterministic stand-in for the nginx of
 * the nginx tests.
 */
export async function startHoldingProxy(target: string, hold = true): Promise<HoldingProxy> {
  const upstream = new URL(target);
  const streamSockets = new Set<Socket>();
  const sockets = new Set<Socket>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (proxy.down) {
      req.socket.destroy();
      return;
    }
    const out = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (up) => {
        const isStream = String(up.headers['content-type'] ?? '').includes('text/event-stream');
        if (isStream) {
          proxy.streamsSeen++;
          streamSockets.add(req.socket);
          req.socket.once('close', () => streamSockets.delete(req.socket));
          if (proxy.hold) {
            // Swallow the stream: read it upstream, send nothing downstream.
            up.resume();
            res.once('close', () => up.destroy());
            return;
          }
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        res.once('close', () => up.destroy());
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  const proxy: HoldingProxy = {
    url: `http://127.0.0.1:${port}`,
    hold,
    down: false,
    streamsSeen: 0,
    cutStreams: () => {
      for (const socket of streamSockets) socket.destroy();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
  return proxy;
}
