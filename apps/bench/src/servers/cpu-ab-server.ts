/**
 * One command server for the CPU A/B (cpu-ab.ts), built from the packages of
 * the repository at `--root` (its `dist/`), so two builds — this checkout and
 * a git worktree with a change, say — can be measured side by side.
 *
 *   --root <repository> --kind corbel|floor
 *
 * `corbel` is createCorbelServer with the bench's limits; `floor` is raw
 * node:http around tRPC's procedure call, as in command-contenders.ts. Both
 * serve the same zod `add` mutation at POST /rpc/add. Answers `cpu` with the
 * process's CPU time in microseconds.
 */
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { BENCH_LIMITS } from '../corbel-limits.js';
import { emit, serveIpc } from '../ipc.js';

const { values } = parseArgs({ options: { root: { type: 'string' }, kind: { type: 'string' } } });
const root = values.root!;
const kind = values.kind!;
const fromRoot = (path: string) => import(pathToFileURL(`${root}/${path}`).href);
const requireFromRoot = createRequire(`${root}/package.json`);

const core = await fromRoot('packages/core/dist/index.js');
const { z } = requireFromRoot('zod');
const t = core.initCorbel({ isDev: false });
const addInput = z.object({ a: z.number(), b: z.number() });
const addOutput = z.object({ sum: z.number() });
const router = t.router({
  add: t.procedure
    .input(addInput)
    .output(addOutput)
    .mutation(({ input }: { input: { a: number; b: number } }) => ({ sum: input.a + input.b })),
});

let url: string;
if (kind === 'corbel') {
  const { createCorbelServer } = await fromRoot('packages/server/dist/index.js');
  const server = createCorbelServer({ router, limits: BENCH_LIMITS });
  ({ url } = await server.listen({ port: 0, host: '127.0.0.1' }));
} else if (kind === 'floor') {
  const { callTRPCProcedure } = await import(pathToFileURL(requireFromRoot.resolve('@trpc/server')).href);
  const transformer = router._def._config.transformer;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      let status = 200;
      let body: string;
      try {
        const input = transformer.input.deserialize(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        const data = await callTRPCProcedure({
          router,
          path: 'add',
          type: 'mutation',
          ctx: {},
          signal: undefined,
          batchIndex: 0,
          getRawInput: async () => input,
        });
        body = `{"result":{"data":${JSON.stringify(transformer.output.serialize(data))}}}`;
      } catch {
        status = 400;
        body = '{"error":{"json":{"message":"bad request","code":-32600}}}';
      }
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
} else {
  throw new Error(`--kind ${kind}: one of corbel, floor`);
}

serveIpc({
  cpu: () => {
    const { user, system } = process.cpuUsage();
    return user + system;
  },
});
emit('ready', { url, path: '/rpc/add' });
