import { makeSelfSignedCert, requireOpenssl } from '@corbel/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { startStationProcess } from '../../apps/weather/test/station-process.js';
import { runCorbel, startCorbel } from './run-corbel.js';

const opensslPresent = requireOpenssl('the corbel --ca tests');

describe.runIf(opensslPresent)('corbel --ca against an HTTPS station with a self-signed certificate', () => {
  const tls = opensslPresent ? makeSelfSignedCert() : undefined;
  afterAll(() => tls?.[Symbol.dispose]());
  const key = tls?.keyPath ?? '';
  const cert = tls?.certPath ?? '';

  it('calls and listens with --ca, and says to pass --ca without it (exit 3)', async () => {
    await using station = await startStationProcess([
      '--store',
      'memory',
      '--tls-key',
      key,
      '--tls-cert',
      cert,
    ]);
    expect(station.url).toMatch(/^https:/);

    const untrusted = await runCorbel(['call', station.url, 'weather.latest', '{"city":"Oslo"}']);
    expect(untrusted.code).toBe(3);
    expect(untrusted.stderr).toMatch(/^corbel: unreachable: .*pass --ca <file>/);

    await using listen = await startCorbel(
      ['listen', station.url, 'weather.readings', '--ca', cert, '--count', '1', '--json'],
      /^live$/,
    );
    const reported = await runCorbel([
      'call',
      station.url,
      'weather.report',
      '{"city":"Oslo","celsius":4}',
      '--ca',
      cert,
    ]);
    expect(reported.code, reported.stderr).toBe(0);
    expect(await listen.exited).toBe(0);
    const event = JSON.parse(listen.lines.find((l) => l.startsWith('{'))!);
    expect(event).toMatchObject({ id: JSON.parse(reported.stdout).id, data: { city: 'Oslo', celsius: 4 } });
  });
});
