import { mkdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { clientAddressReader } from '@corbel/server';
import { createStationLogger } from './station-logger.js';
import { startStation } from './station-server.js';

const HELP = `weather station — serves weather.report, weather.latest and weather.readings at /rpc

usage: npm run weather:station -- [--port <n>] [--data <dir>] [--token <secret>] [--host <addr>]
                                  [--store sqlite|memory] [--sync normal|full] [--retain <n>]
                                  [--redis redis://host:port] [--trust-proxy <addr,...>]
                                  [--consumer-ttl <seconds>] [--ack-timeout <seconds>]

  --port <n>        port to listen on (0 picks a free one; default 4000)
  --data <dir>      directory for the station's data (created if missing); readings
                    are kept in <dir>/events.db and survive restarts
  --store <kind>    sqlite (default with --data) or memory (history lost on restart;
                    the default without --data)
  --sync <mode>     SQLite durability: normal (default; survives a crash of the
                    station) or full (fsync every report; also survives power loss)
  --retain <n>      readings kept per channel (default 100000); a board resuming
                    from an older one is told its history is gone and resyncs
  --redis <url>     keep readings in Redis Streams (redis://127.0.0.1:6379): every
                    station on the same Redis serves one shared history, and a
                    client may resume on any of them (overrides --store)
  --token <secret>  require "Authorization: Bearer <secret>" on every request
                    and stream (or set CORBEL_TOKEN); without one the station
                    runs open on loopback
  --host <addr>     address to bind (default 127.0.0.1); any other than loopback
                    needs --token (or CORBEL_TOKEN) unless --insecure is given
  --trust-proxy <addr,...>
                    reverse proxies in front of the station (addresses or CIDRs,
                    e.g. 127.0.0.1,10.0.0.0/8): when a request comes from one, its
                    Forwarded / X-Forwarded-For names the client (the right-most hop
                    that is not a listed proxy) for limits and the "remote" field of
                    log lines; default none, so those headers are ignored
  --consumer-ttl <seconds>
                    a durable board (--durable) unseen this long is forgotten
                    (default 86400); coming back later it is told its history is gone
  --ack-timeout <seconds>
                    a reading handed to a durable board and not acknowledged within
                    this is handed out again (default 30)
  --insecure        allow binding a non-loopback address without a token
  --tls-key <file>  serve HTTPS with this PEM private key (with --tls-cert)
  --tls-cert <file> the PEM certificate (chain) for --tls-key
  -h, --help        show this help

weather.report honours an Idempotency-Key header: a repeat with the same key
gets the first call's id without a second reading (kept 24 h, in <dir>/events.db
or in Redis, so also after a restart and on every station sharing the Redis).

prints "listening on http://127.0.0.1:<port>" once it accepts connections;
SIGINT/SIGTERM drain open streams and stop it.`;

function fail(message: string): never {
  process.stderr.write(`station: ${message}\n\nrun with --help for usage\n`);
  process.exit(2);
}

async function main() {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string', default: '4000' },
        data: { type: 'string' },
        token: { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        store: { type: 'string' },
        sync: { type: 'string', default: 'normal' },
        retain: { type: 'string' },
        redis: { type: 'string' },
        'trust-proxy': { type: 'string' },
        'consumer-ttl': { type: 'string' },
        'ack-timeout': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-cert': { type: 'string' },
        insecure: { type: 'boolean' },
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
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    fail(`--port must be 0-65535, got "${values.port}"`);
  const dataDir = values.data as string | undefined;
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const token = (values.token as string | undefined) ?? process.env.CORBEL_TOKEN ?? undefined;
  const host = values.host as string;
  const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);
  if (!loopback && !token && !values.insecure) {
    fail(
      `refusing to listen on ${host} without a token: pass --token <secret> (or set CORBEL_TOKEN), or --insecure to run open on the network`,
    );
  }
  if (Boolean(values['tls-key']) !== Boolean(values['tls-cert']))
    fail('--tls-key and --tls-cert go together');
  let tls: { key: Buffer; cert: Buffer } | undefined;
  try {
    tls = values['tls-key']
      ? { key: readFileSync(values['tls-key'] as string), cert: readFileSync(values['tls-cert'] as string) }
      : undefined;
  } catch (error) {
    fail(`cannot read the TLS key or certificate: ${(error as Error).message}`);
  }
  const trustProxy =
    values['trust-proxy'] === undefined ? undefined : String(values['trust-proxy']).split(',');
  try {
    clientAddressReader(trustProxy);
  } catch (error) {
    fail(`--trust-proxy: ${(error as Error).message.replace(/^trustProxy: /, '')}`);
  }
  const logger = createStationLogger();
  const store = values.store as string | undefined;
  if (store !== undefined && store !== 'sqlite' && store !== 'memory')
    fail(`--store must be sqlite or memory, got "${store}"`);
  if (store === 'sqlite' && !dataDir) fail('--store sqlite needs --data <dir>');
  const sync = String(values.sync).toUpperCase();
  if (sync !== 'NORMAL' && sync !== 'FULL') fail(`--sync must be normal or full, got "${values.sync}"`);
  const seconds = (flag: 'consumer-ttl' | 'ack-timeout'): number | undefined => {
    const raw = values[flag];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) fail(`--${flag} must be a positive number of seconds, got "${raw}"`);
    return Math.round(n * 1000);
  };
  const consumerTtlMs = seconds('consumer-ttl');
  const ackTimeoutMs = seconds('ack-timeout');
  const retain = values.retain === undefined ? undefined : Number(values.retain);
  if (retain !== undefined && (!Number.isSafeInteger(retain) || retain < 1))
    fail(`--retain must be a positive whole number, got "${values.retain}"`);

  const station = await startStation({
    port,
    host,
    dataDir,
    token: token || undefined,
    tls,
    logger,
    store,
    synchronous: sync,
    retainReadings: retain,
    redisUrl: values.redis as string | undefined,
    trustProxy,
    ...(consumerTtlMs === undefined ? {} : { consumerTtlMs }),
    ...(ackTimeoutMs === undefined ? {} : { ackTimeoutMs }),
  });
  // The one plain line: tests and scripts wait for it (see DESIGN.md).
  process.stdout.write(`listening on ${station.url}\n`);
  const log = (line: string) => logger.info(line);
  log(
    values.redis
      ? `store: redis ${String(values.redis).replace(/\/\/[^@/]*@/, '//***@')} (shared history)`
      : dataDir && store !== 'memory'
        ? `store: sqlite ${dataDir}/events.db (synchronous=${sync})`
        : 'store: memory — history is lost on restart (pass --data <dir> to keep it)',
  );
  if (trustProxy)
    log(`trusted proxies: ${trustProxy.join(', ')} (client address from Forwarded / X-Forwarded-For)`);
  if (token) log('auth: bearer token required on every request and stream');
  else if (loopback)
    log('auth: none — running open on loopback (pass --token or set CORBEL_TOKEN to require one)');
  else
    logger.warn(
      { host },
      `auth: none — running OPEN on ${host} because of --insecure; anyone who can reach it can call it`,
    );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    logger.info({ signal }, 'draining');
    await station.close();
    const drainMs = Date.now() - started;
    logger.info({ signal, drainMs }, `stopped in ${drainMs} ms`);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error) => {
  process.stderr.write(`station: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
