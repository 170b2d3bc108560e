import { parseArgs } from 'node:util';
import {
  type CorbelSession,
  corbelCodeOf,
  createCorbelClient,
  createDurableConsumer,
  isHistoryGone,
  openSession,
  serveHandlers,
  trpcCodeOf,
} from '@corbel/client';
import { boardHandlers } from './board-handlers.js';
import { formatReading } from './format.js';
import type { StationRouter } from './station-sessions.js';

const HELP = `weather board — prints every reading a station reports, and resumes after disconnects

usage: npm run weather:board -- --url <station url> [--city <name>] [--token <secret>] [--transport auto|sse|long-poll]
                              [--durable <name>]

  --url <url>          the station, e.g. http://127.0.0.1:4000
  --city <name>        only this city's readings
  --token <secret>     bearer token (or set CORBEL_TOKEN)
  --transport <kind>   auto (default: the event stream, long polls when a proxy holds it back),
                       sse or long-poll
  --durable <name>     run as the durable consumer <name>: the station keeps what this board has
                       printed, so a board started again with the same name (anywhere) prints
                       exactly the readings not yet printed, then live ones; boards sharing a
                       name share the readings (each printed by one of them). A reading is
                       acknowledged just before it is printed, so none is printed twice.
  -h, --help        show this help`;

function fail(message: string): never {
  process.stderr.write(`board: ${message}\n\nrun with --help for usage\n`);
  process.exit(2);
}

async function main() {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        url: { type: 'string' },
        city: { type: 'string' },
        token: { type: 'string' },
        transport: { type: 'string' },
        durable: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    fail((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const url = values.url as string | undefined;
  if (!url) fail('--url is required');
  const token = (values.token as string | undefined) ?? process.env.CORBEL_TOKEN;
  const city = values.city as string | undefined;
  const durable = values.durable as string | undefined;
  if (durable !== undefined && !/^[A-Za-z0-9_.:-]{1,100}$/.test(durable)) {
    fail(`--durable takes 1-100 letters, digits and _ . : -, got "${durable}"`);
  }
  const asked = (values.transport as string | undefined) ?? 'auto';
  if (asked !== 'auto' && asked !== 'sse' && asked !== 'long-poll') {
    fail(`--transport must be auto, sse or long-poll, got "${asked}"`);
  }
  let transport: 'auto' | 'sse' | 'long-poll' = asked;
  // A durable consumer's stream is held by the station; it is read over the event stream.
  if (durable !== undefined) {
    if (transport === 'long-poll') fail('--durable reads the event stream: use --transport sse or auto');
    transport = 'sse';
  }
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const startedAt = new Date();
  // Readings printed so far (board.describe tells the station).
  let received = 0;
  const show = (line: string) => {
    received++;
    say(line);
  };

  let lastEventId: string | undefined;
  // The reading shown last when the stream dropped: told to the station when we are back.
  let cursorAtDrop: string | undefined;
  let session: CorbelSession<{ text: string; at: Date }> | undefined;
  // Set by HISTORY_GONE: once the fresh stream is live, fill in from weather.latest.
  let resyncPending = false;
  const client = createCorbelClient<StationRouter>({
    url,
    getToken: () => token,
    transport,
    onStateChange: ({ path, state, error, transport: over }) => {
      if (path !== 'weather.readings') return;
      if (state === 'live') {
        say(`-- live on ${url}${over === 'long-poll' ? ' (long polling)' : ''}`);
        if (resyncPending) {
          resyncPending = false;
          void resync();
        }
        // Back after a drop: resume our session so the station can say what we missed.
        if (cursorAtDrop !== undefined && session) {
          const cursors = { 'weather.readings': cursorAtDrop };
          cursorAtDrop = undefined;
          session.reopen(cursors).catch(() => {});
        }
      } else if (state === 'reconnecting') {
        cursorAtDrop ??= lastEventId;
        say(`-- reconnecting${error ? ` (${error.message})` : ''}…`);
      }
    },
  });

  const controller = new AbortController();
  process.on('SIGINT', () => controller.abort());
  process.on('SIGTERM', () => controller.abort());

  void showPrivateNotes();
  /** Opens this board's session, serves its handlers on it, and prints the station's private notes to it. */
  async function showPrivateNotes() {
    while (!controller.signal.aborted) {
      try {
        if (!session) {
          session = await openSession(client);
          serveDescribe(session);
        } else await session.reopen();
        for await (const { data } of session.messages({ signal: controller.signal })) {
          say(`-- note from the station: ${data.text}`);
        }
      } catch (error) {
        if (controller.signal.aborted) return;
        // NOT_FOUND: the station forgot the session (e.g. a memory store restarted); reopen gives a new one.
        if (trpcCodeOf(error) === 'FORBIDDEN') return;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  /** Answers the station's `board.describe` calls, over this board's own link. */
  function serveDescribe(on: CorbelSession<{ text: string; at: Date }>) {
    const endpoint = serveHandlers(client, {
      handlers: boardHandlers,
      session: on,
      onError: (error) => {
        if (!controller.signal.aborted)
          process.stderr.write(`board: reverse calls: ${(error as Error).message}\n`);
      },
      implementations: {
        'board.describe': (_input, { callId }) => {
          say(`-- board.describe answered (call ${callId.slice(17, 25)})`);
          return { city: city ?? null, received, startedAt };
        },
      },
    });
    controller.signal.addEventListener('abort', () => endpoint.close(), { once: true });
  }

  const cities = new Set<string>(city ? [city] : []);
  /** After HISTORY_GONE: the latest reading of every city this board shows, from weather.latest. */
  async function resync() {
    for (const name of cities) {
      const latest = await client.weather.latest.query({ city: name }).catch(() => null);
      if (latest) show(`-- resynced from weather.latest: ${formatReading(latest, 'latest')}`);
    }
    say(`-- resynced ${cities.size} ${cities.size === 1 ? 'city' : 'cities'} from weather.latest; now live`);
  }
  if (durable !== undefined) {
    await showDurably(durable);
    return;
  }
  /** `--durable`: readings the station hands this consumer, each printed then acknowledged. */
  async function showDurably(name: string) {
    const consumer = createDurableConsumer({
      name,
      channel: 'weather.readings',
      subscribe: (consumerName, signal) =>
        client.weather.readings.subscribe({ city, consumer: consumerName }, { signal }),
      // One key per acknowledgement across resends: a resend after a lost answer gets that answer.
      sendAck: (input, { idempotencyKey }) =>
        client.consumer.ack.mutate(input, { context: { idempotencyKey } }),
      // Acknowledged before printing (below): a board killed at any moment never prints a reading twice.
      autoAck: false,
      onAckError: (error) => process.stderr.write(`board: acknowledging: ${(error as Error).message}\n`),
    });
    say(`-- durable consumer "${name}": the station keeps what this board has printed`);
    while (!controller.signal.aborted) {
      try {
        for await (const { id, data, deliveries } of consumer.deliveries({ signal: controller.signal })) {
          // Not ours (printed already, or by another board of the group): the station moves on without us.
          if (!(await consumer.ackNow(id, controller.signal))) continue;
          cities.add(data.city);
          // The reading line keeps its usual shape; a redelivery is said on its own line before it.
          if (deliveries > 1) say(`-- redelivered (delivery ${deliveries}): not acknowledged before`);
          show(formatReading(data, id));
        }
      } catch (error) {
        if (controller.signal.aborted) break;
        if (isHistoryGone(error)) {
          say(`-- history gone: ${(error as Error).message}; starting again from now`);
          resyncPending = true;
          continue;
        }
        process.stderr.write(`board: ${corbelCodeOf(error) ?? ''} ${(error as Error).message}\n`);
        process.exitCode = 1;
        break;
      }
    }
  }
  while (!controller.signal.aborted) {
    try {
      const stream = client.weather.readings.subscribe({ city, lastEventId }, { signal: controller.signal });
      for await (const { id, data } of stream) {
        lastEventId = id;
        cities.add(data.city);
        show(formatReading(data, id));
      }
    } catch (error) {
      if (controller.signal.aborted) break;
      if (isHistoryGone(error)) {
        say('-- history gone: the station no longer has readings after the last one shown; resyncing');
        lastEventId = undefined;
        cursorAtDrop = undefined;
        // Subscribe afresh first and query once live, so nothing falls between the two.
        resyncPending = true;
        continue;
      }
      process.stderr.write(`board: ${corbelCodeOf(error) ?? ''} ${(error as Error).message}\n`);
      process.exitCode = 1;
      break;
    }
  }
}

main().catch((error) => {
  process.stderr.write(`board: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
