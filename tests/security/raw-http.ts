import { connect } from 'node:net';

export interface RawAnswer {
  /** The response status, or 0 when the server closed without answering. */
  status: number;
  text: string;
}

/**
 * Writes raw bytes to the server and reads until it closes the connection
 * (bounded by `timeoutMs`): requests no well-behaved client library would send.
 */
export function sendRaw(url: string, bytes: Buffer | string, timeoutMs = 5000): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, text });
    };
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('data', (d: Buffer) => {
      // Only the head matters; keep memory bounded whatever comes back.
      if (size < 64 * 1024) chunks.push(d);
      size += d.length;
    });
    socket.on('error', () => {});
    socket.on('close', done);
    socket.write(bytes);
  });
}

/** Runs `tasks` with at most `concurrency` at a time. */
export async function pool<T>(items: T[], concurrency: number, run: (item: T, i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await run(items[i]!, i);
      }
    }),
  );
}
