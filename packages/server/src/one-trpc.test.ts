import { cpSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CorbelError, initCorbel } from '@corbel/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createCorbelServer } from './server.js';

// A second, byte-identical copy of @trpc/server in another folder: what npm
// leaves behind when a workspace pins its own tRPC.
const ownDir = realpathSync(
  dirname(dirname(createRequire(import.meta.url).resolve('@trpc/server/package.json'))),
);
const ownCopy = join(ownDir, 'server');
const elsewhere = mkdtempSync(join(tmpdir(), 'corbel-trpc-copy-'));
const otherCopy = join(elsewhere, 'node_modules', '@trpc', 'server');
cpSync(ownCopy, otherCopy, { recursive: true });
afterAll(() => rmSync(elsewhere, { recursive: true, force: true }));

describe('one tRPC or a loud error', () => {
  it('starts with a router built by the same @trpc/server', async () => {
    const t = initCorbel();
    await using server = createCorbelServer({ router: t.router({ ping: t.procedure.query(() => 'pong') }) });
    const { url } = await server.listen({ port: 0 });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('refuses to start with a router from another copy, naming both module paths', async () => {
    const other = (await import(
      pathToFileURL(join(otherCopy, 'dist', 'index.mjs')).href
    )) as typeof import('@trpc/server');
    const t = other.initTRPC.create();
    const router = t.router({ ping: t.procedure.query(() => 'pong') });
    const server = createCorbelServer({ router: router as any });
    const error = await server.listen({ port: 0 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await server.close();
    expect(error).toBeInstanceOf(CorbelError);
    expect((error as CorbelError).corbelCode).toBe('TRPC_MISMATCH');
    const message = (error as Error).message;
    expect(message).toContain(realpathSync(otherCopy));
    expect(message).toContain(ownCopy);
    expect(message.split('\n')).toHaveLength(1);
    expect(server.httpServer.listening).toBe(false);
  });
});
