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
