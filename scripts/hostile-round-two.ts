/**
 * Runs the attacks of issue 15 against a real weather station process (with
 * --token) and prints one line of figures per attack: status, time and how
 * long `/healthz` stalled meanwhile. The before/after table of the issue's
 * note comes from this script.
 *
 *   npx tsx --conditions=@corbel/source scripts/hostile-round-two.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// process.ts alone: the testing entry pulls in vitest, which a plain script cannot load.
import { startProcess } from '../packages/testing/src/process.js';
import {
  bombWithHealth,
  collectionBomb,
  openUnfinishedBodies,
  reportBody,
  tally,
  timedRequest,
  typedArrayBomb,
} from '../tests/security/round-two-attacks.js';

const TOKEN = 'round-two-secret';
const auth = { authorization: `Bearer ${TOKEN}` };
const json = { 'content-type': 'application/json' };

const dataDir = mkdtempSync(join(tmpdir(), 'corbel-round-two-'));
const station = await startProcess(
  process.execPath,
  [
    '--conditions=@corbel/source',
    '--import',
    'tsx',
    new URL('../apps/weather/src/station.ts', import.meta.url).pathname,
    '--port',
    '0',
    '--data',
    dataDir,
    '--token',
    TOKEN,
    ...process.argv.slice(2),
  ],
  { ready: /listening on (\S+)/, env: { CORBEL_LOG_LEVEL: 'info' } },
);
const url = station.ready;
const print = (name: string, figures: object) => console.log(`${name.padEnd(28)} ${JSON.stringify(figures)}`);

try {
  for (const kind of ['map', 'set'] as const) {
    const r = await bombWithHealth(url, collectionBomb(kind, 60_000, 18_000), auth);
    print(`${kind} bomb`, { status: r.status, ms: r.ms, healthStallMs: r.healthStallMs, bytes: r.bytes });
  }
  {
    // Three Set bombs at once, as the run did.
    const body = collectionBomb('set', 60_000, 18_000);
    const three = await Promise.all([0, 1, 2].map(() => bombWithHealth(url, body, auth)));
    print('3 set bombs at once', {
      status: three.map((r) => r.status),
      ms: three.map((r) => r.ms),
      healthStallMs: Math.max(...three.map((r) => r.healthStallMs)),
    });
  }
  const typed = await bombWithHealth(url, typedArrayBomb(), auth);
  print('typed-array 2^31', { status: typed.status, ms: typed.ms, healthStallMs: typed.healthStallMs });

  // As in the issue; the station holds 4096 commands in flight per identity, so the
  // library-default case (256) is tests/regression/admission-after-body.test.ts.
  const sockets = await openUnfinishedBodies(url, 256, auth);
  const normal = await tally(20, 4, () =>
    timedRequest(`${url}/rpc/weather.report`, {
      method: 'POST',
      headers: { ...json, ...auth },
      body: reportBody(),
    }),
  );
  for (const s of sockets) s.destroy();
  print('256 unfinished bodies', { normalCommands: normal.byStatus });

  const bearer = await tally(2000, 20, () =>
    timedRequest(`${url}/rpc/weather.latest`, { headers: { authorization: 'Bearer wrong' } }),
  );
  print('2000 wrong bearer tokens', bearer);
  const session = await tally(2000, 20, () =>
    timedRequest(`${url}/session`, { method: 'POST', headers: json, body: '{"token":"wrong"}' }),
  );
  print('2000 wrong /session tokens', session);
  await new Promise((r) => setTimeout(r, 3000));

  const login = await timedRequest(`${url}/session`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ token: TOKEN }),
  });
  const cookie = String(login.headers['set-cookie'] ?? '').split(';', 1)[0]!;
  const list = await timedRequest(`${url}/rpc/session.list`, { headers: { cookie } });
  print('session.list by a cookie', { status: list.status, login: login.status });
  const listBearer = await timedRequest(`${url}/rpc/session.list`, { headers: auth });
  print('session.list by the token', { status: listBearer.status });
  const del = await timedRequest(`${url}/session`, { method: 'DELETE', headers: { cookie } });
  const after = await timedRequest(
    `${url}/rpc/weather.latest?input=${encodeURIComponent('{"json":{"city":"Oslo"}}')}`,
    {
      headers: { cookie },
    },
  );
  const refresh = await timedRequest(`${url}/session?refresh=1`, {
    method: 'POST',
    headers: { ...json, cookie },
    body: '{}',
  });
  print('cookie after DELETE', { delete: del.status, command: after.status, refresh: refresh.status });

  const options = await timedRequest(`${url}/rpc/weather.report`, { method: 'OPTIONS' });
  print('OPTIONS', { status: options.status });

  const requestLines = station.lines.filter((l) => l.startsWith('{') && /"reqId"/.test(l));
  print('log lines naming remote', {
    withRemote: requestLines.filter((l) => /"remote":/.test(l)).length,
    of: requestLines.length,
  });
} finally {
  await station.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
