import { createServer } from 'node:net';

/**
 * A loopback port nothing listens on right now (bound on 127.0.0.1, then
 * released), for a process that must come back on the same port after a
 * restart.
 *
 * @example
 * const port = await freePort();
 * await using station = await spawnStation(['--port', String(port)]);
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
