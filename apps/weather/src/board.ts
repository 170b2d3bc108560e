import { parseArgs } from 'node:util';
import { corbelCodeOf, createCorbelClient, isHistoryGone } from '@corbel/client';
import { formatReading } from './format.js';
import type { WeatherRouter } from './router.js';

const HELP = `weather board — prints every reading a station reports, and resumes after disconnects

usage: npm run weather:board -- --url <station url> [--city <name>] [--token <secret>]

  --url <url>       the station, e.g. http://127.0.0.1:4000
  --city <name>     only this city's readings
  --token <secret>  bearer token (or set CORBEL_TOKEN)
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
  const say = (line: string) => process.stdout.write(`${line}\n`);

  const client = createCorbelClient<WeatherRouter>({
    url,
    getToken: () => token,
    onStateChange: ({ state, error }) => {
      if (state === 'live') say(`-- live on ${url}`);
      else if (state === 'reconnecting') say(`-- reconnecting${error ? ` (${error.message})` : ''}…`);
    },
  });

  const controller = new AbortController();
  process.on('SIGINT', () => controller.abort());
  process.on('SIGTERM', () => controller.abort());

  let lastEventId: string | undefined;
  while (!controller.signal.aborted) {
    try {
      const stream = client.weather.readings.subscribe({ city, lastEventId }, { signal: controller.signal });
      for await (const { id, data } of stream) {
        lastEventId = id;
        say(formatReading(data, id));
      }
    } catch (error) {
      if (controller.signal.aborted) break;
      if (isHistoryGone(error)) {
        say('-- history gone: the station no longer has readings after the last one shown; resyncing');
        lastEventId = undefined;
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
