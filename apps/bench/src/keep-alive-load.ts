import { Agent, request } from 'node:http';
import { inLanes } from './lanes.js';

/**
 * Sends `total` POSTs of `body` (JSON) to `url` over `connections` keep-alive
 * connections, each sending its next as soon as the previous answer is in;
 * resolves with how many were not answered 200. A plain node:http client: for
 * counting work done per command (instructions.ts, cpu-ab.ts), not for req/s
 * (the commands suite's raw-socket load client is lighter).
 */
export async function keepAliveLoad(
  url: string,
  body: string,
  total: number,
  connections: number,
): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  let failed = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const req = request(
        url,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          if (res.statusCode !== 200) failed++;
          res.resume();
          res.on('end', resolve);
          res.on('error', () => resolve());
        },
      );
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.end(body);
    });
  try {
    await inLanes(total, connections, one);
  } finally {
    agent.destroy();
  }
  return failed;
}
