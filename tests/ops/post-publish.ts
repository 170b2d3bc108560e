import { type Agent, request } from 'node:http';

const BODY = JSON.stringify({ json: { n: 1, room: 'bench' } });

/**
 * One `publish` command of the security fixture over `agent` (keep-alive),
 * the body read to its end; resolves with the status. What the metrics
 * overhead benches send, over and over.
 */
export function postPublish(url: string, agent: Agent): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const req = request(
      `${url}/rpc/publish`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': BODY.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(BODY);
  });
}
