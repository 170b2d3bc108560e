import { initTRPC, tracked } from '@trpc/server';
import superjson from 'superjson';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createCorbelServer } from '../server.js';

// One call object for commands and streams alike: these tests record, over a
// real socket, what `createContext` and the authorization rule see, and in
// which order, for every way a procedure is reached.

interface Ctx {
  who: string;
}

const t = initTRPC.context<Ctx>().create({
  transformer: superjson,
  // A formatter that reads the context: it must have one for every error
  // tRPC itself would give it one for (e.g. an unknown procedure).
  errorFormatter: ({ shape, ctx }) => ({ ...shape, data: { ...shape.data, who: ctx?.who ?? null } }),
});

const router = t.router({
  hello: t.procedure
    .input(z.object({ name: z.string() }))
    .query(({ input, ctx }) => `${ctx.who}:${input.name}`),
  bump: t.procedure.input(z.object({ by: z.number() })).mutation(({ input }) => input.by + 1),
  ticks: t.procedure
    .input(z.object({ lastEventId: z.string().nullish() }).optional())
    .subscription(async function* () {
      yield tracked('1', { n: 1 });
      yield tracked('2', { n: 2 });
    }),
});

const steps: string[] = [];
const server = createCorbelServer({
  router,
  createContext: ({ info }) => {
    steps.push(`context ${info.type} ${info.paths.join(',')}${info.isBatch ? ' batch' : ''}`);
    return { who: 'ctx' };
  },
  authorize: ({ path, type, input }) => {
    steps.push(`authorize ${type} ${path}`);
    return !(
      typeof input === 'object' &&
      input !== null &&
      (input as { name?: string }).name === 'forbidden'
    );
  },
});
let url = '';

beforeAll(async () => {
  url = (await server.listen({ port: 0, host: '127.0.0.1' })).url;
});
afterAll(() => server.close());
beforeEach(() => {
  steps.length = 0;
});

const input = (value: unknown) => encodeURIComponent(JSON.stringify(superjson.serialize(value)));

describe('one call path for commands and streams', () => {
  it('a query: the context once, then the authorization, then the procedure', async () => {
    const res = await fetch(`${url}/rpc/hello?input=${input({ name: 'a' })}`);
    expect((await res.json()).result.data.json).toBe('ctx:a');
    expect(steps).toEqual(['context query hello', 'authorize query hello']);
  });

  it('a batch: one context for all its calls, each call authorized', async () => {
    const body = JSON.stringify({ 0: superjson.serialize({ by: 1 }), 1: superjson.serialize({ by: 2 }) });
    const res = await fetch(`${url}/rpc/bump,bump?batch=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect((await res.json()).map((r: any) => r.result.data.json)).toEqual([2, 3]);
    expect(steps).toEqual([
      'context mutation bump,bump batch',
      'authorize mutation bump',
      'authorize mutation bump',
    ]);
  });

  it('a stream: the same steps as a command, in the same order', async () => {
    const abort = new AbortController();
    const res = await fetch(`${url}/rpc/ticks`, { signal: abort.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    for (let i = 0; i < 20 && !text.includes('id: 2'); i++)
      text += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    expect(text).toContain('id: 1');
    expect(steps).toEqual(['context subscription ticks', 'authorize subscription ticks']);
  });

  it('a long poll: the same steps again', async () => {
    const res = await fetch(`${url}/rpc/ticks?longPoll=1&wait=0`);
    expect(res.status).toBe(200);
    expect(steps).toEqual(['context subscription ticks', 'authorize subscription ticks']);
  });

  it('a refusal is FORBIDDEN with the formatter given the context, for a command and a stream alike', async () => {
    const command = await fetch(`${url}/rpc/hello?input=${input({ name: 'forbidden' })}`);
    expect(command.status).toBe(403);
    const commandError = (await command.json()).error.json;
    expect(commandError.data.who).toBe('ctx');
    // The rule sees the decoded input before the procedure's own validation, so it refuses this one too.
    const stream = await fetch(`${url}/rpc/ticks?input=${input({ name: 'forbidden' })}`);
    expect(stream.status).toBe(403);
    const streamError = (await stream.json()).error.json;
    expect(streamError.data.who).toBe('ctx');
    expect(streamError.data.corbelCode ?? streamError.data.code).toBe(
      commandError.data.corbelCode ?? commandError.data.code,
    );
    expect(steps).toEqual([
      'context query hello',
      'authorize query hello',
      'context subscription ticks',
      'authorize subscription ticks',
    ]);
  });

  it('an unknown procedure is answered with the context made, as tRPC does, and never authorized', async () => {
    const res = await fetch(`${url}/rpc/nope?input=${input({})}`);
    expect(res.status).toBe(404);
    const error = (await res.json()).error.json;
    expect(error.data.code).toBe('NOT_FOUND');
    expect(error.data.who).toBe('ctx');
    expect(steps).toEqual(['context unknown nope']);
  });
});
