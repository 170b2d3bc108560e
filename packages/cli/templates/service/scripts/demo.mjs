// npm start: starts the server on a free port and a client following
// messages.feed, sends three messages, prints what the client received, then
// stops both by pid. Every wait is bounded, so a broken build fails fast.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../client/dist/index.js';

const WAIT_MS = 15_000;
const dataDir = mkdtempSync(join(tmpdir(), 'corbel-demo-'));
const children = [];
// Last resort when the demo dies before its finally runs (e.g. its stdout pipe closed):
// never leave the server or the client running.
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Starts `node <args>`; resolves with the child and the first stdout/stderr match of `ready`. */
function start(name, args, ready, stream = 'stdout') {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines = [];
  const onLine = (from) => (chunk) => {
    for (const line of String(chunk).split('\n').filter(Boolean)) {
      if (from === 'stdout') lines.push(line);
      // The processes' own log lines (already prefixed); connection states are only waited on.
      if (from === 'stderr' && !/^state /.test(line)) process.stderr.write(`${line}\n`);
      child.emit('line', from, line);
    }
  };
  child.stdout.on('data', onLine('stdout'));
  child.stderr.on('data', onLine('stderr'));
  const match = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready after ${WAIT_MS} ms`)), WAIT_MS);
    child.on('line', (from, line) => {
      const m = from === stream ? ready.exec(line) : null;
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.on('exit', (code) => reject(new Error(`${name} exited with ${code} before it was ready`)));
  });
  return { child, lines, ready: match };
}

/** Stops a child by its pid and waits (bounded) until it has exited. */
async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

try {
  const server = start(
    'server',
    ['server/dist/main.js', '--port', '0', '--data', dataDir],
    /listening on (\S+)/,
  );
  const [, url] = await server.ready;
  console.log(`server listening on ${url} (pid ${server.child.pid})`);

  const client = start('client', ['client/dist/main.js', '--url', url], /^state live$/, 'stderr');
  await client.ready;
  console.log(`client following messages.feed (pid ${client.child.pid})`);

  const api = connect({ url });
  for (const text of ['hello', 'from', 'corbel']) {
    const { id } = await api.messages.send.mutate({ text });
    console.log(`sent ${JSON.stringify(text)} -> ${id}`);
  }

  const deadline = Date.now() + WAIT_MS;
  while (client.lines.filter((l) => l.startsWith('event ')).length < 3 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  console.log('the client printed:');
  for (const line of client.lines) console.log(`  ${line}`);
  if (client.lines.filter((l) => l.startsWith('event ')).length < 3) {
    throw new Error('the client did not receive all three messages');
  }
} catch (error) {
  console.error(`demo: ${error.message}`);
  process.exitCode = 1;
} finally {
  for (const child of children.reverse()) await stop(child);
  rmSync(dataDir, { recursive: true, force: true });
}
