/**
 * Metrics on versus off, commands over loopback: a Corbel server in a child
 * process (the security fixture's `publish` mutation: one command, one hub
 * append, the counters and histograms that go with them), and a keep-alive
 * load loop in this process. Runs alternate on/off so drift from other load
 * on the machine hits both equally.
 *
 *   node --conditions=@corbel/source --import tsx tests/ops/metrics-overhead.bench.ts [seconds] [rounds] [concurrency]
 */
import { fork } from 'node:child_process';
import { Agent } from 'node:http';
import { postPublish } from './post-publish.js';

const [seconds = 4, rounds = 3, concurrency = 32] = process.argv.slice(2).map(Number);

if (process.env.OVERHEAD_CHILD) {
  const { startSecurityService } = await import('../security/fixture.js');
  const metricsOn = process.env.OVERHEAD_CHILD === 'on';
  const svc = await startSecurityService({
    ...(metricsOn ? {} : { metrics: false }),
    limits: { commandsPerSecond: 0, maxInFlightPerIdentity: 100_000 },
  });
  process.send!({ url: svc.url });
  let cpu = process.cpuUsage();
  process.on('message', async (m) => {
    if (m === 'start') {
      cpu = process.cpuUsage();
      return;
    }
    const used = process.cpuUsage(cpu);
    process.send!({ cpuMicros: used.user + used.system }, async () => {
      await svc.close();
      process.exit(0);
    });
  });
} else {
  const run = async (mode: 'on' | 'off') => {
    const child = fork(new URL(import.meta.url).pathname, [], {
      env: { ...process.env, OVERHEAD_CHILD: mode },
      execArgv: ['--conditions=@corbel/source', '--import', 'tsx'],
    });
    const { url } = await new Promise<{ url: string }>((r) => child.once('message', (m: any) => r(m)));
    const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
    const post = () => postPublish(url, agent);
    // Warm up, then measure.
    for (let i = 0; i < 500; i++) await post();
    child.send('start');
    let done = 0;
    let failed = 0;
    const latencies: number[] = [];
    const until = performance.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < until) {
          const t = performance.now();
          if ((await post()) === 200) done++;
          else failed++;
          latencies.push(performance.now() - t);
        }
      }),
    );
    agent.destroy();
    const exited = new Promise((r) => child.once('exit', r));
    const { cpuMicros } = await new Promise<{ cpuMicros: number }>((r) => {
      child.once('message', (m: any) => r(m));
      child.send('stop');
    });
    await exited;
    latencies.sort((a, b) => a - b);
    return {
      mode,
      rps: Math.round(done / seconds),
      p50: latencies[Math.floor(latencies.length * 0.5)]!,
      p99: latencies[Math.floor(latencies.length * 0.99)]!,
      failed,
      // Server CPU per command: far less disturbed by other load on the machine than req/s.
      cpuPerRequest: cpuMicros / (done + failed),
    };
  };
  const results: Awaited<ReturnType<typeof run>>[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
      const res = await run(mode);
      results.push(res);
      console.log(
        `round ${r + 1} metrics ${mode.padEnd(3)}: ${res.rps} req/s, p50 ${res.p50.toFixed(2)} ms, p99 ${res.p99.toFixed(2)} ms, server CPU ${res.cpuPerRequest.toFixed(1)} µs/command, failed ${res.failed}`,
      );
    }
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const on = median(results.filter((r) => r.mode === 'on').map((r) => r.rps));
  const off = median(results.filter((r) => r.mode === 'off').map((r) => r.rps));
  const cpuOn = median(results.filter((r) => r.mode === 'on').map((r) => r.cpuPerRequest));
  const cpuOff = median(results.filter((r) => r.mode === 'off').map((r) => r.cpuPerRequest));
  console.log(`median: metrics on ${on} req/s, off ${off} req/s (${(((on - off) / off) * 100).toFixed(1)}%)`);
  console.log(
    `median server CPU per command: on ${cpuOn.toFixed(1)} µs, off ${cpuOff.toFixed(1)} µs (${(((cpuOn - cpuOff) / cpuOff) * 100).toFixed(1)}%)`,
  );
}
