import { connect, createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createCorbelMetrics } from './metrics.js';

/** The exposition lines of one metric family (no HELP/TYPE). */
async function lines(metrics: ReturnType<typeof createCorbelMetrics>, name: string): Promise<string[]> {
  const { text } = await metrics.render();
  return text.split('\n').filter((l) => l.startsWith(name));
}

// Stream writes are counted in plain numbers and handed to prom-client when
// scraped (a labelled inc per subscriber per event was ~5 % of a station's CPU
// at 19,000 subscribers): the exposition must read as if counted directly.
describe('stream write metrics', () => {
  it('counts events per procedure and the queue depth of every write, once per scrape', async () => {
    const metrics = createCorbelMetrics({ processMetrics: false });
    metrics.framesWritten('weather.readings', 1);
    metrics.framesWritten('weather.readings', 3);
    metrics.framesWritten('jobs.progress', 300);
    expect(await lines(metrics, 'corbel_events_sent_total')).toEqual([
      'corbel_events_sent_total{procedure="weather.readings"} 4',
      'corbel_events_sent_total{procedure="jobs.progress"} 300',
    ]);
    const depth = await lines(metrics, 'corbel_stream_queue_depth');
    expect(depth).toContain('corbel_stream_queue_depth_bucket{le="1"} 1');
    expect(depth).toContain('corbel_stream_queue_depth_bucket{le="4"} 2');
    expect(depth).toContain('corbel_stream_queue_depth_bucket{le="256"} 2');
    expect(depth).toContain('corbel_stream_queue_depth_bucket{le="+Inf"} 3');
    expect(depth).toContain('corbel_stream_queue_depth_sum 304');
    expect(depth).toContain('corbel_stream_queue_depth_count 3');
    // One series, not prom-client's zero series beside the counted one.
    expect(depth.filter((l) => l.startsWith('corbel_stream_queue_depth_count'))).toHaveLength(1);
    // A second scrape adds nothing that was already handed over.
    metrics.framesWritten('weather.readings', 2);
    expect(await lines(metrics, 'corbel_events_sent_total{procedure="weather.readings"}')).toEqual([
      'corbel_events_sent_total{procedure="weather.readings"} 6',
    ]);
  });

  it('shows a zero queue-depth series before any write', async () => {
    const metrics = createCorbelMetrics({ processMetrics: false });
    const depth = await lines(metrics, 'corbel_stream_queue_depth_count');
    expect(depth).toEqual(['corbel_stream_queue_depth_count 0']);
  });
});

// Open connections are Node's own count, read at scrape time (no listener of
// ours on every socket): the gauge must follow connections as they come and go.
describe('open connections', () => {
  it("reads every registered server's connections when scraped, and forgets a closed server", async () => {
    const metrics = createCorbelMetrics({ processMetrics: false });
    const server = createServer((socket) => socket.on('error', () => {}));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const stop = metrics.countConnections(server);
    const { port } = server.address() as { port: number };
    const open = async (): Promise<Socket> => {
      const socket = connect(port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      return socket;
    };
    const a = await open();
    const b = await open();
    const count = async () => Number((await lines(metrics, 'corbel_connections_open '))[0]?.split(' ')[1]);
    for (let i = 0; i < 50 && (await count()) !== 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await count()).toBe(2);
    a.destroy();
    for (let i = 0; i < 50 && (await count()) !== 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await count()).toBe(1);
    b.destroy();
    stop();
    await new Promise((resolve) => server.close(resolve));
    expect(await count()).toBe(0);
  });
});
