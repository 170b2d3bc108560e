/**
 * Metrics on versus off, measured as CPU time per command rather than
 * throughput: two servers (metrics on, metrics off) in this process, one
 * keep-alive connection each, sequential `publish` commands, rounds
 * alternating. Client and server share the process, so the difference between
 * the two is what metrics cost the server. CPU time is far steadier than
 * req/s on a machine shared with other work.
 *
 *   node --conditions=@corbel/source --import tsx tests/ops/metrics-overhead-inproc.bench.ts [rounds] [commands]
 */
import { Agent } from 'node:http';
import { startSecurityService } from '../security/fixture.js';
import { postPublish } from './post-publish.js';

const [rounds = 5, commands = 3000] = process.argv.slice(2).map(Number);
const on = await startSecurityService({ limits: { commandsPerSecond: 0 } });
const off = await startSecurityService({ metrics: false, limits: { commandsPerSecond: 0 } });

async function cpuPerCommand(url: string): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const post = () => postPublish(url, agent);
  for (let i = 0; i < 300; i++) await post();
  const start = process.cpuUsage();
  for (let i = 0; i < commands; i++) await post();
  const used = process.cpuUsage(start);
  agent.destroy();
  return (used.user + used.system) / commands;
}

const results = { on: [] as number[], off: [] as number[] };
for (let r = 0; r < rounds; r++) {
  const order = r % 2 ? (['off', 'on'] as const) : (['on', 'off'] as const);
  for (const mode of order) results[mode].push(await cpuPerCommand((mode === 'on' ? on : off).url));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const [mOn, mOff] = [median(results.on), median(results.off)];
console.log('CPU µs per publish command (client + server, one keep-alive connection):');
console.log(`  metrics on : ${results.on.map((x) => x.toFixed(0)).join(' ')}  median ${mOn.toFixed(1)}`);
console.log(`  metrics off: ${results.off.map((x) => x.toFixed(0)).join(' ')}  median ${mOff.toFixed(1)}`);
console.log(`  difference: ${(((mOn - mOff) / mOff) * 100).toFixed(1)}%`);
await on.close();
await off.close();
