/**
 * One command contender in its own process, driven by the bench over IPC:
 * `--kind corbel|trpc|raw|floor|orpc` (see command-contenders.ts).
 */
import { argsOf, collect, emit, processStats, serveIpc } from '../ipc.js';
import { startCommandContender } from './command-contenders.js';

async function main() {
  const { url, path, close } = await startCommandContender(argsOf().kind ?? 'corbel');
  serveIpc({
    stats: () => processStats(),
    gc: () => collect(),
    close: () => close(),
  });
  emit('ready', { url, path });
  process.once('SIGTERM', () => process.exit(0));
}

main().catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
});
