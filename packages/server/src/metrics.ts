import type { Server } from 'node:net';
import type { DurableConsumerHooks, HubHooks } from '@corbel/core';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { LimitKind } from './limits.js';

/** Why an auth check refused, the label of `corbel_auth_refusals_total`. */
export type AuthRefusal = 'missing' | 'invalid' | 'expired' | 'forbidden';

export interface CorbelMetricsOptions {
  /** Also export the process metrics (CPU, memory, event-loop lag, GC) prom-client collects (default true). */
  processMetrics?: boolean | undefined;
  /** Prefix of every metric name (default "corbel_"). */
  prefix?: string | undefined;
}

/**
 * Corbel's Prometheus metrics in their own prom-client registry. Every label
 * is bounded: procedure paths and channel names come from the router and the
 * code (anything else is counted as "unknown"), statuses and reasons are
 * closed sets. Nothing is labelled per session, identity or id.
 *
 * Pass `hubHooks` to `createHub` and the object to `createCorbelServer`:
 *
 * @example
 * const metrics = createCorbelMetrics();
 * const hub = createHub({ log, hooks: metrics.hubHooks });
 * createCorbelServer({ router, metrics, store: hub.log });
 */
export function createCorbelMetrics(opts: CorbelMetricsOptions = {}) {
  const registry = new Registry();
  const connectionCounts = new Set<Pick<Server, 'getConnections'>>();
  const p = opts.prefix ?? 'corbel_';
  const registers = [registry];
  const processRegistry = (opts.processMetrics ?? true) ? processRegistryFor(p) : undefined;

  const m = {
    registry,
    connections: new Gauge({
      name: `${p}connections_open`,
      help: 'Open TCP/TLS connections',
      registers,
      // Node counts them; asked when scraped (summed over the servers sharing these metrics).
      async collect() {
        let open = 0;
        for (const server of connectionCounts) {
          open += await new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n ?? 0)));
        }
        this.set(open);
      },
    }),
    streams: new Gauge({
      name: `${p}streams_open`,
      help: 'Open event streams (SSE responses) by subscription procedure',
      labelNames: ['procedure'],
      registers,
    }),
    streamCloses: new Counter({
      name: `${p}stream_closes_total`,
      help: 'Event streams ended, by procedure and reason (complete, client-gone, slow-consumer, stalled, drained, auth-expired, max-duration, error)',
      labelNames: ['procedure', 'reason'],
      registers,
    }),
    eventsSent: new Counter({
      name: `${p}events_sent_total`,
      help: 'Events written to event streams, by procedure',
      labelNames: ['procedure'],
      registers,
      // Counted per stream write in `eventsSent` below, added here when scraped.
      collect() {
        flushEventsSent();
      },
    }),
    batchDepth: new FastHistogram({
      name: `${p}stream_queue_depth`,
      help: 'Events waiting for a subscriber each time its stream writes (the per-subscriber queue depth; capped at 256 per write)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    }),
    commands: new Counter({
      name: `${p}commands_total`,
      help: 'Commands (queries and mutations) by procedure and HTTP status',
      labelNames: ['procedure', 'status'],
      registers,
      // Counted in `commandSeries` per request, added here when scraped.
      collect() {
        flushCommandCounts();
      },
    }),
    commandSeconds: new FastHistogram({
      name: `${p}command_duration_seconds`,
      help: 'Command latency from request to response, by procedure',
      labelNames: ['procedure'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    }),
    published: new Counter({
      name: `${p}events_published_total`,
      help: 'Events stored and fanned out, by channel',
      labelNames: ['channel'],
      registers,
    }),
    delivered: new Counter({
      name: `${p}events_delivered_total`,
      help: 'Event deliveries to live subscriber queues, by channel (one event to n subscribers counts n)',
      labelNames: ['channel'],
      registers,
    }),
    subscribers: new Gauge({
      name: `${p}subscribers`,
      help: 'Live hub subscribers by channel',
      labelNames: ['channel'],
      registers,
    }),
    cutOffs: new Counter({
      name: `${p}slow_consumer_cutoffs_total`,
      help: 'Subscribers cut off because their queue overflowed, by channel',
      labelNames: ['channel'],
      registers,
    }),
    dropped: new Counter({
      name: `${p}events_dropped_total`,
      help: "Events a subscriber's delivery policy dropped (drop-oldest, drop-newest, latest-per-key), by channel and policy",
      labelNames: ['channel', 'policy'],
      registers,
    }),
    redeliveries: new Counter({
      name: `${p}redeliveries_total`,
      help: 'Events handed to a durable consumer again (not acknowledged in time, or their member left), by channel',
      labelNames: ['channel'],
      registers,
    }),
    consumersExpired: new Counter({
      name: `${p}consumers_expired_total`,
      help: 'Durable consumers that came back after their idle TTL and were told HISTORY_GONE, by channel',
      labelNames: ['channel'],
      registers,
    }),
    resumes: new Counter({
      name: `${p}resumes_total`,
      help: 'Subscriptions that resumed from an id, by channel',
      labelNames: ['channel'],
      registers,
    }),
    replayed: new Counter({
      name: `${p}replayed_events_total`,
      help: 'Stored events replayed to resuming subscribers, by channel',
      labelNames: ['channel'],
      registers,
    }),
    idempotentReplays: new Counter({
      name: `${p}idempotent_replays_total`,
      help: 'Keyed mutations answered with their recorded response instead of running again, by procedure',
      labelNames: ['procedure'],
      registers,
    }),
    duplicatePublishes: new Counter({
      name: `${p}duplicate_publishes_total`,
      help: 'Keyed publishes whose key the log already had (a repeated mutation whose answer was never recorded): nothing stored or sent again, by channel',
      labelNames: ['channel'],
      registers,
    }),
    limitsShared: new Gauge({
      name: `${p}limits_shared`,
      help: 'Per-identity limits counted cluster-wide in a shared store (1), or per instance (0: no shared store, or it does not answer)',
      registers,
    }),
    limitsDegraded: new Counter({
      name: `${p}limits_degraded_total`,
      help: 'Times the cluster-wide limits fell back to per-instance limits because the shared store did not answer',
      registers,
    }),
    historyGone: new Counter({
      name: `${p}history_gone_total`,
      help: 'Resumes refused because the id is older than the retained history, by channel',
      labelNames: ['channel'],
      registers,
    }),
    authRefusals: new Counter({
      name: `${p}auth_refusals_total`,
      help: 'Requests refused by authentication or authorization, by reason (missing, invalid, expired, forbidden)',
      labelNames: ['reason'],
      registers,
    }),
    limitHits: new Counter({
      name: `${p}limit_hits_total`,
      help: 'Requests refused by a limit, by kind (body, url, header, batch, in-flight, streams, rate, timeout, connections)',
      labelNames: ['kind'],
      registers,
    }),
    longPollsHeld: new Gauge({
      name: `${p}long_polls_held`,
      help: 'Long polls being answered (waiting for events), by subscription procedure',
      labelNames: ['procedure'],
      registers,
    }),
    longPolls: new Counter({
      name: `${p}long_polls_total`,
      help: 'Long polls answered, by procedure and outcome (events, empty, error)',
      labelNames: ['procedure', 'outcome'],
      registers,
    }),
    longPollEvents: new Counter({
      name: `${p}long_poll_events_total`,
      help: 'Events delivered in long-poll answers, by procedure',
      labelNames: ['procedure'],
      registers,
    }),
    appendSeconds: new Histogram({
      name: `${p}store_append_duration_seconds`,
      help: 'Time the event log takes to store one event',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers,
    }),
  };

  // The per-command metrics are counted in plain objects and handed to
  // prom-client when scraped: prom-client hashes and validates the label
  // object on every inc/observe (even through `labels()`), which was a
  // measurable share of a command. Label values are procedure paths (or
  // "unknown") and statuses, so the maps stay small.
  // procedure → status → count not yet added to the counter.
  const pendingCounts = new Map<string, Map<string, { n: number }>>();
  const commandSeries = (procedure: string, status: string) => {
    let byStatus = pendingCounts.get(procedure);
    if (!byStatus) {
      byStatus = new Map();
      pendingCounts.set(procedure, byStatus);
    }
    let count = byStatus.get(status);
    if (!count) {
      count = { n: 0 };
      byStatus.set(status, count);
    }
    return count;
  };
  function flushCommandCounts(): void {
    for (const [procedure, byStatus] of pendingCounts) {
      for (const [status, count] of byStatus) {
        if (count.n === 0) continue;
        m.commands.inc({ procedure, status }, count.n);
        count.n = 0;
      }
    }
  }
  // Written per subscriber per event (19,000 times a reading at scale): plain
  // counts here, handed to prom-client when scraped, as for commands.
  const eventsSent = new Map<string, { n: number }>();
  function flushEventsSent(): void {
    for (const [procedure, sent] of eventsSent) {
      if (sent.n === 0) continue;
      m.eventsSent.inc({ procedure }, sent.n);
      sent.n = 0;
    }
  }
  let batchDepth: HistogramSeries | undefined;

  const hubHooks: HubHooks = {
    onPublish(channel, _event, appendMs) {
      m.published.inc({ channel });
      m.appendSeconds.observe(appendMs / 1000);
    },
    onDeliver(channel, subscribers) {
      if (subscribers > 0) m.delivered.inc({ channel }, subscribers);
    },
    onSubscribe(channel, resumed) {
      m.subscribers.inc({ channel });
      if (resumed) m.resumes.inc({ channel });
    },
    onUnsubscribe(channel, reason) {
      m.subscribers.dec({ channel });
      if (reason === 'slow-consumer') m.cutOffs.inc({ channel });
    },
    onReplay(channel, events) {
      m.replayed.inc({ channel }, events);
    },
    onDuplicate(channel) {
      m.duplicatePublishes.inc({ channel });
    },
    onHistoryGone(channel) {
      m.historyGone.inc({ channel });
    },
    onDrop(channel, count, policy) {
      m.dropped.inc({ channel, policy }, count);
    },
  };

  const durableHooks: DurableConsumerHooks = {
    onRedeliver(channel) {
      m.redeliveries.inc({ channel });
    },
    onExpired(channel) {
      m.consumersExpired.inc({ channel });
    },
  };

  return {
    ...m,
    /** Hooks for `createHub({ hooks })`. */
    hubHooks,
    /** Hooks for `createDurableConsumers({ hooks })`. */
    durableHooks,
    /** Counts one command call and its latency. */
    command(procedure: string, status: string, seconds: number) {
      commandSeries(procedure, status).n++;
      m.commandSeconds.series(procedure).observe(seconds);
    },
    /** Counts a server's open connections in `connections_open`; call the result when the server is closed. */
    countConnections(server: Pick<Server, 'getConnections'>): () => void {
      connectionCounts.add(server);
      return () => connectionCounts.delete(server);
    },
    /** Counts events written in one stream write. */
    framesWritten(procedure: string, events: number) {
      let sent = eventsSent.get(procedure);
      if (!sent) {
        sent = { n: 0 };
        eventsSent.set(procedure, sent);
      }
      sent.n += events;
      batchDepth ??= m.batchDepth.series();
      batchDepth.observe(events);
    },
    /** Counts one long poll from when it is held until it is answered; call the result with its answer. */
    longPollHeld(procedure: string) {
      m.longPollsHeld.inc({ procedure });
      return (events: number, failed: boolean) => {
        m.longPollsHeld.dec({ procedure });
        m.longPolls.inc({ procedure, outcome: failed ? 'error' : events > 0 ? 'events' : 'empty' });
        if (events > 0) m.longPollEvents.inc({ procedure }, events);
      };
    },
    limitHit(kind: LimitKind) {
      m.limitHits.inc({ kind });
    },
    authRefused(reason: AuthRefusal) {
      m.authRefusals.inc({ reason });
    },
    /** The exposition text and its content type. */
    async render(): Promise<{ contentType: string; text: string }> {
      const own = await registry.metrics();
      const text = processRegistry ? `${own}\n${await processRegistry.metrics()}` : own;
      return { contentType: registry.contentType, text };
    },
  };
}

export type CorbelMetrics = ReturnType<typeof createCorbelMetrics>;

/** One label set's buckets, sum and count, kept as plain numbers. */
class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    private readonly bounds: readonly number[],
    readonly labels: Record<string, string>,
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    const { bounds } = this;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }
}

/**
 * A prom-client Histogram with a fast path for one label or none (`series(value)`):
 * observations there cost a bucket search, not a label hash and validation.
 * Its exposition is the Histogram's own plus these series, in the same shape.
 */
class FastHistogram<T extends string> extends Histogram<T> {
  // Assigned after super(), which calls reset() before it exists.
  private readonly fast = new Map<string, HistogramSeries>();
  private readonly bounds: number[];

  private readonly metricName: string;

  constructor(config: ConstructorParameters<typeof Histogram<T>>[0] & { buckets: number[] }) {
    super(config);
    this.metricName = config.name;
    this.bounds = [...config.buckets].sort((a, b) => a - b);
    // prom-client's (untyped) exposition method, which `get()` and the registry call.
    const self = this as unknown as { getForPromString(): Promise<{ values: unknown[] }> };
    const base = self.getForPromString.bind(this);
    self.getForPromString = async () => this.withFast(await base());
  }

  /** The series of the histogram's (single) label with this value; the one series of a histogram without labels. */
  series(value = ''): HistogramSeries {
    let s = this.fast.get(value);
    if (!s) {
      const label = (this as unknown as { labelNames: string[] }).labelNames[0];
      s = new HistogramSeries(this.bounds, label === undefined ? {} : { [label]: value });
      this.fast.set(value, s);
    }
    return s;
  }

  override reset(): void {
    super.reset();
    this.fast?.clear();
  }

  /** prom-client's exposition of this histogram plus the fast series (what both `get()` and the registry read). */
  private withFast(data: { values: unknown[] }): { values: unknown[] } {
    const bucket = `${this.metricName}_bucket`;
    // Without labels prom-client always shows its own (zero) series: the fast
    // one, once it has observations, takes its place instead of repeating it.
    const unlabelled = (this as unknown as { labelNames: string[] }).labelNames.length === 0;
    if (unlabelled && (this.fast.get('')?.count ?? 0) > 0) data.values = [];
    for (const s of this.fast.values()) {
      if (s.count === 0) continue;
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.counts[i]!;
        data.values.push({
          labels: { le: this.bounds[i] },
          sharedLabels: s.labels,
          value: acc,
          metricName: bucket,
        });
      }
      data.values.push(
        { labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: bucket },
        { labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.metricName}_sum` },
        { labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.metricName}_count` },
      );
    }
    return data;
  }
}

// Process metrics describe the process, not a server, and prom-client's
// collector starts an event-loop monitor and GC observer each time it runs:
// collect them once per process (and prefix), shared by every server in it.
const processRegistries = new Map<string, Registry>();

function processRegistryFor(prefix: string): Registry {
  let registry = processRegistries.get(prefix);
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix });
    processRegistries.set(prefix, registry);
  }
  return registry;
}
