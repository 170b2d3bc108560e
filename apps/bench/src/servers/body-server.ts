/**
 * The node:http plumbing the raw command contenders share (raw, the floor),
 * here and in the CPU A/B's server.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A status and a JSON body. */
export type Answer = [status: number, body: string];

/** Listens on 127.0.0.1 (a free port); resolves with the server's URL. */
export async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * A node:http server that reads each POST body whole and answers it with
 * `answer(body)`: what the raw contenders share (only `raw` checks the path).
 */
export function bodyServer(answer: (body: string, req: IncomingMessage) => Answer | Promise<Answer>): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    const send = ([status, body]: Answer) => {
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    };
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answered = answer(Buffer.concat(chunks).toString('utf8'), req);
      // A synchronous answer is sent in the same turn: raw pays for no promise.
      if (answered instanceof Promise) void answered.then(send);
      else send(answered);
    });
  });
}
