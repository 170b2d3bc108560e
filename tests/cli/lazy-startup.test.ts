import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closedPort, runCorbel } from './run-corbel.js';

// What a command that talks to a server needs and --help/--version must not
// load: together they are most of the CLI's start-up time.
const HEAVY = /^(@corbel\/|@trpc\/|superjson$|zod(\/|$)|eventsource)/;

const dir = mkdtempSync(join(tmpdir(), 'corbel-cli-lazy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const recorder = new URL('./fixtures/record-imports.mjs', import.meta.url).href;

/** Runs corbel with a resolve hook that records every package it imports. */
async function packagesLoadedBy(args: string[]): Promise<string[]> {
  const file = join(dir, `${args.join('_').replace(/\W+/g, '-')}.txt`);
  const res = await runCorbel(args, {
    env: { NODE_OPTIONS: `--import ${recorder}`, CORBEL_RECORD_IMPORTS: file },
  });
  expect(res.stderr).not.toMatch(/Error \[|ERR_/);
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {}
  return [...new Set(text.split('\n').filter(Boolean))];
}

describe('corbel starts without the client stack', () => {
  it('--version, --help and a command --help load commander only', async () => {
    for (const args of [['--version'], ['--help'], ['call', '--help'], ['new', '--help']]) {
      const loaded = await packagesLoadedBy(args);
      expect(loaded, args.join(' ')).toContain('commander');
      expect(
        loaded.filter((name) => HEAVY.test(name)),
        args.join(' '),
      ).toEqual([]);
    }
  });

  it('the recorder sees the client stack when a command needs it (the check can fail)', async () => {
    const port = await closedPort();
    const loaded = await packagesLoadedBy(['call', `http://127.0.0.1:${port}`, 'a.b', '{}', '--query']);
    expect(loaded).toEqual(expect.arrayContaining(['@corbel/client', '@trpc/client', 'superjson']));
  });
});
