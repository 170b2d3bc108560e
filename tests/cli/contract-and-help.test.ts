import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startStationProcess } from '../../apps/weather/test/station-process.js';
import { REPO_ROOT, runCorbel } from './run-corbel.js';

const dir = mkdtempSync(join(tmpdir(), 'corbel-cli-contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const committed = join(REPO_ROOT, 'proto-docs/services/weather.contract.json');

describe('corbel contract', () => {
  it('export writes the same contract npm run docs committed', async () => {
    const out = join(dir, 'weather.contract.json');
    const res = await runCorbel(['contract', 'export', 'apps/weather/src/contract.ts', '-o', out]);
    expect(res.code, res.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(committed, 'utf8'));
  });

  it('export <url> reads the contract a running station serves (corbel.contract)', async () => {
    await using station = await startStationProcess(['--store', 'memory', '--token', 'contract-secret']);
    const res = await runCorbel(['contract', 'export', station.url, '--token', 'contract-secret']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe(readFileSync(committed, 'utf8'));
    const refused = await runCorbel(['contract', 'export', station.url]);
    expect(refused.code).toBe(4);
  });

  it('diff exits 1 on a breaking change, one line saying why it breaks whom', async () => {
    // The README's demo: weather.report now requires a station name, and latest may omit `at`.
    const contract = JSON.parse(readFileSync(committed, 'utf8'));
    const report = contract.procedures.find((p: { path: string }) => p.path === 'weather.report');
    report.input.properties.station = { type: 'string' };
    report.input.required.push('station');
    const changed = join(dir, 'weather.changed.json');
    writeFileSync(changed, JSON.stringify(contract));

    const res = await runCorbel(['contract', 'diff', committed, changed]);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain(
      'BREAKING   weather.report input.station: required field "station" added — breaks old clients: they do not send it',
    );
    expect(res.stdout).toMatch(/^1 breaking, 0 compatible changes$/m);

    const json = await runCorbel(['contract', 'diff', committed, changed, '--json']);
    expect(JSON.parse(json.stdout).changes[0]).toMatchObject({
      kind: 'field-added-required',
      severity: 'breaking',
    });
  });

  it('diff exits 0 for the module against its own committed contract', async () => {
    const res = await runCorbel(['contract', 'diff', committed, 'apps/weather/src/contract.ts']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.trim()).toBe('no changes');
  });

  it('docs writes the markdown and the contract into a directory', async () => {
    const out = join(dir, 'docs');
    const res = await runCorbel(['docs', 'apps/weather/src/contract.ts', '-o', out]);
    expect(res.code, res.stderr).toBe(0);
    expect(readFileSync(join(out, 'weather.md'), 'utf8')).toContain('### weather.report');
  });
});

describe('corbel --help and --version', () => {
  it('every subcommand has help with examples; the top level lists the exit statuses', async () => {
    const top = await runCorbel(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('Exit status:');
    for (const sub of [
      ['call'],
      ['listen'],
      ['contract'],
      ['contract', 'export'],
      ['contract', 'diff'],
      ['docs'],
      ['sessions'],
      ['new'],
    ]) {
      const res = await runCorbel([...sub, '--help']);
      expect(res.code, sub.join(' ')).toBe(0);
      expect(res.stdout, sub.join(' ')).toContain('Examples:');
    }
  });

  it('--version prints the package version', async () => {
    const res = await runCorbel(['--version']);
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'packages/cli/package.json'), 'utf8'));
    expect(res.stdout.trim()).toBe(version);
  });
});
