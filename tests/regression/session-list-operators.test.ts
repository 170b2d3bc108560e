/**
 * Issue 15, finding 5: `session.list` was open to every caller, a page
 * cookie included: any identity listed every session with its owner, times
 * and an id prefix. It is an operator query now: with no `canList` nobody
 * may list, and with one only the identities it accepts.
 */
import { createCorbelClient } from '@corbel/client';
import { createHub, createMemorySessions, initCorbel } from '@corbel/core';
import {
  createCorbelServer,
  createSessionRouter,
  createSessionService,
  type Identity,
  staticTokenAuth,
} from '@corbel/server';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

type Ctx = { identity: Identity | null };

async function serve(canList?: (ctx: Ctx) => boolean) {
  const hub = createHub();
  const service = createSessionService({ registry: createMemorySessions(), hub, message: z.object({}) });
  const t = initCorbel<Ctx>();
  const router = t.router({
    session: createSessionRouter<Ctx, z.ZodObject>({
      service,
      ownerOf: (ctx) => ctx.identity?.id ?? null,
      canList,
    }),
  });
  const server = createCorbelServer({
    router,
    authenticate: staticTokenAuth({ tokens: { 'op-secret': 'operator' }, operator: true }),
    createContext: ({ identity }): Ctx => ({ identity }),
  });
  const { url } = await server.listen({ port: 0 });
  return {
    client: (token: string) => createCorbelClient<typeof router>({ url, token }),
    async [Symbol.asyncDispose]() {
      await server.close();
      service.close();
      await hub.close();
    },
  };
}

const statusOf = (p: Promise<unknown>) =>
  p.then(
    () => 200,
    (e) => (e as { data?: { httpStatus?: number } }).data?.httpStatus,
  );

describe('session.list is for operators', () => {
  it('without canList nobody may list, not even the operator token', async () => {
    await using svc = await serve();
    expect(await statusOf(svc.client('op-secret').session.list.query())).toBe(403);
  });

  it('with canList on identity.operator, the operator lists and nobody else', async () => {
    await using svc = await serve((ctx) => ctx.identity?.operator === true);
    await svc.client('op-secret').session.open.mutate({});
    expect(await svc.client('op-secret').session.list.query()).toHaveLength(1);
  });
});
