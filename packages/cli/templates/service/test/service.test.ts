// Runs after `npm run build` (npm test does both): the server and client
// under test are the built ones that `npm start` runs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runServerConformance, type ServerConformanceOptions } from '@corbel/testing';
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import { connect } from '../client/dist/index.js';
import { startServer } from '../server/dist/index.js';

const dataDir = mkdtempSync(join(tmpdir(), 'service-test-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
let runs = 0;
/** A fresh server on a free loopback port, with its own log file. */
const start = (token?: string) => startServer({ port: 0, dataDir: join(dataDir, String(++runs)), token });

// What the suite needs to know about this contract to drive it.
const contract: Omit<ServerConformanceOptions, 'name' | 'start'> = {
  query: { path: 'messages.latest', kind: 'query', input: {} },
  roundTrip: { path: 'messages.latest', kind: 'query', input: {}, types: ['Date'] },
  invalid: { path: 'messages.send', kind: 'mutation', input: { text: '' }, field: ['text'] },
  events: {
    path: 'messages.feed',
    input: {},
    publish: (n) => ({ path: 'messages.send', kind: 'mutation', input: { text: `message ${n}` } }),
    idOf: (result: { id: string }) => result.id,
  },
};

// The contract every Corbel server keeps over real HTTP: status codes, error
// shapes, SSE frames, resume by id, superjson types, refusals of bad input.
runServerConformance({ name: 'service', start: () => start(), ...contract });
runServerConformance({
  name: 'service with a token',
  start: () => start('test-secret'),
  token: 'test-secret',
  ...contract,
});

describe('the typed client', () => {
  it('follows messages.feed and gets what was sent, Date included', async () => {
    await using server = await start();
    let live = () => {};
    const isLive = new Promise<void>((resolve) => {
      live = resolve;
    });
    const client = connect({ url: server.url, onState: (state) => state === 'live' && live() });
    const controller = new AbortController();
    const feed = client.messages.feed.subscribe({}, { signal: controller.signal });
    const first = feed[Symbol.asyncIterator]().next();
    // Live means the server holds the stream open: a message sent now reaches it.
    await isLive;
    const { id } = await client.messages.send.mutate({ text: 'hello' });
    const { value } = await first;
    controller.abort();

    expect(value?.id).toBe(id);
    expect(value?.data.text).toBe('hello');
    expect(value?.data.at).toBeInstanceOf(Date);
    expectTypeOf(client.messages.latest.query).returns.resolves.toEqualTypeOf<{
      text: string;
      at: Date;
    } | null>();
    const latest = await client.messages.latest.query({});
    expect(latest).toEqual(value?.data);
  });
});
