/**
 * One command contender for the instruction count (instructions.ts): no IPC,
 * since it runs under valgrind. Prints `listening <url><path>` once it
 * answers, and exits on SIGTERM, after which valgrind writes its count.
 *
 *   node --import tsx apps/bench/src/servers/counted-server.ts floor
 */
import { startCommandContender } from './command-contenders.js';

const { url, path } = await startCommandContender(process.argv[2] ?? 'corbel');
process.once('SIGTERM', () => process.exit(0));
process.stdout.write(`listening ${url}${path}\n`);
