/**
 * One command server for the CPU A/B (cpu-ab.ts), built from the packages of
 * the repository at `--root` (its `dist/`), so two builds — this checkout and
 * a git worktree with a change, say — can be measured side by side.
 *
 *   --root <repository> --kind corbel|floor
 *
 * `corbel` is createCorbelServer with the bench's limits; `floor` is the
 * bench's floor contender (floor-server.ts) with that checkout's tRPC. Both
 * serve the same zod `add` mutation at POST /rpc/add. Answers `cpu` with the
 * process's CPU time in microseconds.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { BENCH_LIMITS } from '../corbel-limits.js';
import { emit, serveIpc } from '../ipc.js';
import { listen } from './body-server.js';
import { floorServer } from './floor-server.js';

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
  url = await listen(floorServer(router, callTRPCProcedure));
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
