/**
 * The packages as a user meets them: built, packed with `npm pack`, installed
 * from the tarballs (peers from the registry) into a fresh project outside the
 * workspace — its own package.json, `"type": "module"`, TypeScript 5.9's
 * `tsc --init` defaults, no tsx, no custom conditions — then compiled and run
 * as two plain `node` processes. Slow (an npm install that builds
 * better-sqlite3), so it runs once, in one file, with generous bounds.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, type StartedProcess, startProcess } from '@corbel/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lintPackedPackage } from '../../scripts/lib/lint-package.js';
import {
  corbelVersion,
  type PackedPackage,
  packPackages,
  REPO_ROOT,
} from '../../scripts/lib/pack-packages.js';
import { type PrebuiltMirror, startPrebuiltMirror } from './prebuilt-mirror.js';

const run = promisify(execFile);
const FIXTURE = join(REPO_ROOT, 'tests/consumer/project');
const work = mkdtempSync(join(tmpdir(), 'corbel-consumer-'));
const app = join(work, 'app');
const user = join(app, 'user');
const tarballs = join(work, 'tarballs');
const running = new Set<StartedProcess>();
let packed: PackedPackage[] = [];
let mirror: PrebuiltMirror | undefined;

/** Runs a command in the project; resolves with its output, rejects with it on a non-zero exit. */
async function sh(cmd: string, args: string[], cwd = user, timeoutMs = 300_000) {
  return run(cmd, args, { cwd, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024, env: cleanEnv() });
}

/** The environment a user's shell has: no vitest or tsx loaders, no source condition. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.VITEST;
  delete env.VITEST_POOL_ID;
  delete env.VITEST_WORKER_ID;
  env.NO_COLOR = '1';
  env.FORCE_COLOR = '0';
  delete env.NODE_ENV; // vitest sets "test"; a user's shell has none (and npm would skip devDependencies under "production")
  return { ...env, ...mirror?.env };
}

async function start(file: string, args: string[], ready: RegExp): Promise<StartedProcess> {
  const proc = await startProcess(process.execPath, [file, ...args], { ready, cwd: user, env: cleanEnv() });
  running.add(proc);
  return proc;
}

async function stop(proc: StartedProcess, signal: NodeJS.Signals = 'SIGTERM') {
  await proc.stop(signal, 3_000);
  running.delete(proc);
}

/** The ```ts blocks of a README (relative to the repository), in order. */
function readmeExamples(readme: string): string[] {
  const text = readFileSync(join(REPO_ROOT, readme), 'utf8');
  const blocks = [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  if (blocks.length === 0) throw new Error(`${readme} has no ts example`);
  return blocks;
}

function eventsIn(lines: string[]) {
  return lines
    .filter((l) => l.startsWith('event '))
    .map((l) => {
      const [, id, text, at, isDate] = l.split(' ');
      return { id: id!, text: text!, at: at!, isDate: isDate === 'true' };
    });
}

async function waitUntil(what: string, done: () => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  mkdirSync(tarballs);
  packed = packPackages(tarballs);
  // `corbel new --packages`: the scaffold a team starts from, wired to the
  // tarballs; the CLI and the Redis store join it as a team would add them.
  await sh(
    process.execPath,
    [join(REPO_ROOT, 'packages/cli/bin/corbel.js'), 'new', app, '--packages', tarballs],
    work,
  );
  const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
  for (const name of ['@corbel/cli', '@corbel/store-redis']) {
    manifest.devDependencies[name] = `file:${packed.find((p) => p.name === name)!.tarball}`;
  }
  writeFileSync(join(app, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  mirror = await startPrebuiltMirror(REPO_ROOT, work);
  await sh('npm', ['install', '--no-audit', '--no-fund'], app, 540_000);
  console.log(
    mirror.served > 0
      ? 'better-sqlite3: prebuilt binary fetched from the loopback mirror'
      : 'better-sqlite3: no matching prebuilt binary, npm compiled it from source',
  );
  // A user's own folder in that project, set up by its own `tsc --init`, with
  // what the generated file's comments say to add for Node.
  mkdirSync(user);
  writeFileSync(
    join(user, 'package.json'),
    `${JSON.stringify({ name: 'user', private: true, type: 'module' })}\n`,
  );
  await sh(join(app, 'node_modules/.bin/tsc'), ['--init'], user);
  const tsconfig = readFileSync(join(user, 'tsconfig.json'), 'utf8')
    .replace('"types": [],', '"types": ["node"],')
    .replace('// "rootDir": "./src",', '"rootDir": "./src",')
    .replace('// "outDir": "./dist",', '"outDir": "./dist",');
  expect(tsconfig).toContain('"exactOptionalPropertyTypes": true');
  expect(tsconfig).toContain('"verbatimModuleSyntax": true');
  writeFileSync(join(user, 'tsconfig.json'), tsconfig);
  cpSync(join(FIXTURE, 'src'), join(user, 'src'), { recursive: true });
  rmSync(join(user, 'src/wrong-input.ts'));
  // Every package README's example, as a user would paste it (the client's
  // imports the server example's router type).
  for (const pkg of ['core', 'server', 'client', 'store-sqlite', 'store-redis', 'testing']) {
    const code = readmeExamples(`packages/${pkg}/README.md`)[0]!.replace(
      "from './server.js'",
      "from './readme-server.js'",
    );
    writeFileSync(join(user, 'src', `readme-${pkg}.ts`), code);
  }
  // The main README's "service in thirty lines": its server and its client (compiled, not run: port 4000).
  const [server, client] = readmeExamples('README.md');
  writeFileSync(join(user, 'src/readme-main-server.ts'), server!);
  writeFileSync(
    join(user, 'src/readme-main-client.ts'),
    client!.replace("from './server.js'", "from './readme-main-server.js'"),
  );
}, 600_000);

afterAll(async () => {
  for (const proc of running) await proc.stop('SIGKILL', 1_000);
  await mirror?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('the packed packages in a fresh project', () => {
  it('ship built ESM with types, a README and a LICENSE, and no tests', () => {
    for (const p of packed) {
      expect(p.files, p.name).toContain('dist/index.js');
      expect(p.files, p.name).toContain('dist/index.d.ts');
      expect(p.files, p.name).toContain('README.md');
      expect(p.files, p.name).toContain('LICENSE');
      // (the scaffold's test template is a file `corbel new` writes, not a test of the package)
      const tests = p.files.filter((f) => /\.test\.|tsbuildinfo/.test(f) && !f.startsWith('templates/'));
      expect(tests, p.name).toEqual([]);
    }
    console.log(packed.map((p) => `${p.name}: ${p.bytes} bytes, ${p.files.length} files`).join('\n'));
  });

  it('pass publint and arethetypeswrong', () => {
    for (const p of packed) expect(lintPackedPackage(p.tarball), p.name).toEqual([]);
  });

  it('scaffolds with corbel new a service whose own npm test and npm start pass', async () => {
    const test = await sh('npm', ['test'], app, 240_000).catch((e) => {
      throw new Error(`the scaffold's npm test failed:\n${e.stdout}${e.stderr}`);
    });
    expect(test.stdout).toMatch(/Tests\s+\d+ passed/);
    const start = await sh('npm', ['start'], app, 120_000);
    expect(start.stdout).toMatch(/event /);
  });

  it("compiles a user's contract, server, client and every README example under tsc --init defaults", async () => {
    const { stdout } = await sh(join(app, 'node_modules/.bin/tsc'), ['-p', '.']).catch((e) => {
      throw new Error(`tsc failed:\n${e.stdout}${e.stderr}`);
    });
    expect(stdout).toBe('');
  });

  it('makes a wrong command input a tsc error', async () => {
    cpSync(join(FIXTURE, 'src/wrong-input.ts'), join(user, 'src/wrong-input.ts'));
    try {
      const failed = await sh(join(app, 'node_modules/.bin/tsc'), ['-p', '.', '--noEmit']).then(
        () => null,
        (e: { stdout: string }) => e.stdout,
      );
      expect(failed).toMatch(
        /src\/wrong-input\.ts\(\d+,\d+\): error TS2322: Type 'number' is not assignable to type 'string'/,
      );
    } finally {
      rmSync(join(user, 'src/wrong-input.ts'));
    }
  });

  it('runs the README examples of core, server and store-sqlite with plain node', async () => {
    const core = await sh(process.execPath, ['dist/readme-core.js'], user, 20_000);
    expect(core.stdout).toMatch(/^\S+ Bergen 4\n$/);
    const server = await sh(process.execPath, ['dist/readme-server.js'], user, 20_000);
    expect(server.stdout).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+\n$/);
    const sqlite = await sh(process.execPath, ['dist/readme-store-sqlite.js'], user, 20_000);
    expect(sqlite.stdout).toContain("true { city: 'Oslo', celsius: -3 }");
  });

  it('serves a command and events with ids and Dates between two node processes, and resumes exactly after a restart', async () => {
    const port = await freePort();
    const data = join(work, 'data');
    const serverArgs = ['--port', String(port), '--data', data];
    let server = await start('dist/server.js', serverArgs, /listening on (\S+)/);
    const url = server.ready;
    const client = await start('dist/client.js', ['--url', url], /^state connecting$/);
    const post = async (text: string) => {
      const { stdout } = await sh(
        process.execPath,
        ['dist/client.js', '--url', url, '--post', text],
        user,
        20_000,
      );
      return /^posted (\S+)$/m.exec(stdout)?.[1];
    };
    await new Promise((r) => setTimeout(r, 500)); // the listener's stream opens
    const ids = [await post('one'), await post('two'), await post('three')];
    await waitUntil('three events', () => eventsIn(client.lines).length >= 3);
    // A forced disconnect: the server dies (SIGKILL) and comes back on the same port and data.
    await stop(server, 'SIGKILL');
    server = await start('dist/server.js', serverArgs, /listening on (\S+)/);
    ids.push(await post('four'), await post('five'));
    await waitUntil('five events', () => eventsIn(client.lines).length >= 5);
    await new Promise((r) => setTimeout(r, 300)); // nothing more may arrive
    const events = eventsIn(client.lines);
    expect(events.map((e) => e.id)).toEqual(ids);
    expect(events.map((e) => e.text)).toEqual(['one', 'two', 'three', 'four', 'five']);
    expect(events.every((e) => e.isDate && !Number.isNaN(Date.parse(e.at)))).toBe(true);
    expect(client.lines.some((l) => /^state reconnecting$/.test(l))).toBe(true);
    await stop(client);
    await stop(server);
  });

  it('runs the installed corbel: --version and listen --count 1', async () => {
    const version = await sh(join(app, 'node_modules/.bin/corbel'), ['--version'], user, 20_000);
    expect(version.stdout.trim()).toBe(corbelVersion());
    const port = await freePort();
    const server = await start(
      'dist/server.js',
      ['--port', String(port), '--data', join(work, 'data2')],
      /listening on (\S+)/,
    );
    const listen = await start(
      join(app, 'node_modules/.bin/corbel'),
      ['listen', server.ready, 'notes.feed', '--count', '1', '--json'],
      /^live$/,
    );
    await sh(process.execPath, ['dist/client.js', '--url', server.ready, '--post', 'hello'], user, 20_000);
    expect(await listen.exited).toBe(0);
    running.delete(listen);
    const line = listen.lines.find((l) => l.startsWith('{'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({ data: { text: 'hello' } });
    await stop(server);
  });

  it('refuses to serve a router built with a second @trpc/server copy, naming both paths', async () => {
    cpSync(join(FIXTURE, 'legacy'), join(user, 'legacy'), { recursive: true });
    await sh('npm', ['install', '--no-audit', '--no-fund'], join(user, 'legacy'), 300_000);
    const failed = await sh(process.execPath, ['dist/mismatch.js'], user, 20_000).then(
      (r) => ({ code: 0, stderr: r.stderr, stdout: r.stdout }),
      (e: { code: number; stderr: string; stdout: string }) => e,
    );
    expect(failed.stdout).not.toContain('started');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(join(user, 'legacy/node_modules/@trpc/server'));
    expect(failed.stderr).toContain(join(app, 'node_modules/@trpc/server'));
    expect(failed.stderr.trim().split('\n')).toHaveLength(1);
  });
});
