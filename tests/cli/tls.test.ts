import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startStationProcess } from '../../apps/weather/test/station-process.js';
import { runCorbel, startCorbel } from './run-corbel.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const opensslPresent = hasOpenssl();
if (!opensslPresent) {
  if (process.env.CI === 'true')
    throw new Error('openssl is required for the corbel --ca tests and is missing');
  console.warn('\n*** openssl not found: the corbel --ca tests were NOT run ***\n');
}

describe.runIf(opensslPresent)('corbel --ca against an HTTPS station with a self-signed certificate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'corbel-cli-tls-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  if (opensslPresent) {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
  }

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
