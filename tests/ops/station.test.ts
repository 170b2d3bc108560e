import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createCorbelClient } from '@corbel/client';
import { makeSelfSignedCert, rawRequest, requireOpenssl, startProcess } from '@corbel/testing';
import { describe, expect, it } from 'vitest';
import type { WeatherRouter } from '../../apps/weather/src/router.js';
import { sample } from './scrape.js';

const STATION = ['--conditions=@corbel/source', '--import', 'tsx', 'apps/weather/src/station.ts'];
const READY = /listening on (\S+)/;

describe('the weather station as an operator runs it', () => {
  it('logs JSON lines when not on a terminal, serves /metrics and /readyz, and drains on SIGTERM with the time logged', async () => {
    const env = { CORBEL_TOKEN: 'op-secret' };
    await using station = await startProcess(process.execPath, [...STATION, '--port', '0'], {
      ready: READY,
      env,
    });
    const client = createCorbelClient<WeatherRouter>({ url: station.ready, token: 'op-secret' });
    await client.weather.report.mutate({ city: 'Oslo', celsius: -3 });
    expect((await rawRequest(`${station.ready}/rpc/weather.latest`)).status).toBe(401);
    expect((await rawRequest(`${station.ready}/readyz`)).json).toEqual({ status: 'ready' });
    // Metrics need the token like everything else.
    expect((await rawRequest(`${station.ready}/metrics`)).status).toBe(401);
    const metrics = await rawRequest(`${station.ready}/metrics`, {
      headers: { authorization: 'Bearer op-secret' },
    });
    expect(sample(metrics.text, 'corbel_events_published_total', { channel: 'weather.readings' })).toBe(1);

    expect(await station.stop('SIGTERM')).toBe(0);
    const json = station.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    expect(json.find((l) => /^auth: bearer token required/.test(l.msg))).toMatchObject({ level: 30 });
    // The refused request is one line with its request id.
    expect(json.find((l) => l.status === 401 && l.path === 'weather.latest')?.reqId).toEqual(
      expect.any(String),
    );
    const stopped = json.find((l) => /^stopped in \d+ ms$/.test(l.msg));
    expect(stopped).toMatchObject({ signal: 'SIGTERM', drainMs: expect.any(Number) });
  });

  it('refuses a non-loopback address without a token unless --insecure', async () => {
    const refused = spawnSync(process.execPath, [...STATION, '--port', '0', '--host', '0.0.0.0'], {
      env: { ...process.env, CORBEL_TOKEN: '' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without a token/);
    await using open = await startProcess(
      process.execPath,
      [...STATION, '--port', '0', '--host', '0.0.0.0', '--insecure'],
      {
        ready: READY,
        env: { CORBEL_TOKEN: '' },
      },
    );
    expect(open.ready).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    const warning = JSON.parse(await open.waitForLine(/running OPEN on 0\.0\.0\.0/));
    expect(warning).toMatchObject({ level: 40, host: '0.0.0.0' });
  });

  it.runIf(requireOpenssl('the station TLS test'))('serves HTTPS with --tls-key/--tls-cert', async () => {
    using tls = makeSelfSignedCert();
    const key = tls.keyPath;
    const cert = tls.certPath;
    {
      await using station = await startProcess(
        process.execPath,
        [...STATION, '--port', '0', '--tls-key', key, '--tls-cert', cert],
        {
          ready: READY,
          env: { CORBEL_TOKEN: 't' },
        },
      );
      expect(station.ready).toMatch(/^https:/);
      const client = createCorbelClient<WeatherRouter>({
        url: station.ready,
        token: 't',
        tls: { ca: readFileSync(cert) },
      });
      const { id } = await client.weather.report.mutate({ city: 'Bergen', celsius: 9 });
      expect(id).toMatch(/-/);
    }
  });
});
