#!/usr/bin/env node
// Installs what the test suites need and the machine lacks, so the README's
// `npm ci && npm test` passes on a fresh Debian machine: redis-server (Redis
// suites), chromium (the browser test), nginx (the proxy suites), openssl
// (TLS certificates). It uses apt-get when it may (root, apt present); otherwise
// it stops with the exact command to run. Nothing is skipped quietly: a suite
// whose binary is missing would fail under CI=true anyway.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Binary the suites run → the Debian package that provides it. */
const NEEDED = [
  ['redis-server', 'redis-server'],
  ['chromium', 'chromium'],
  ['nginx', 'nginx'],
  ['openssl', 'openssl'],
];

// nginx lives in /usr/sbin, which a non-login PATH may lack.
const SEARCH = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];

function found(binary) {
  return SEARCH.some((dir) => {
    try {
      accessSync(join(dir, binary), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const missing = NEEDED.filter(([binary]) => !found(binary)).map(([, pkg]) => pkg);
if (missing.length === 0) {
  console.log('provision: redis-server, chromium, nginx and openssl are installed');
  process.exit(0);
}

const command = `apt-get update && apt-get install -y ${missing.join(' ')}`;
const isRoot = process.getuid?.() === 0;
const hasApt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
if (!isRoot || !hasApt) {
  const how = hasApt ? `sudo sh -c '${command}'` : `install ${missing.join(', ')} with your package manager`;
  console.error(`provision: the test suites need ${missing.join(', ')}, which this machine lacks.`);
  console.error(`provision: ${isRoot ? 'apt-get is not available' : 'not running as root'}; run: ${how}`);
  process.exit(1);
}

console.log(`provision: installing ${missing.join(', ')} with apt-get`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
try {
  execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env,
  });
} catch (error) {
  console.error(`provision: "${command}" failed (${error.message}); run it by hand and retry`);
  process.exit(1);
}
const still = NEEDED.filter(([binary]) => !found(binary)).map(([, pkg]) => pkg);
if (still.length > 0) {
  console.error(`provision: ${still.join(', ')} still missing after apt-get install`);
  process.exit(1);
}
console.log(`provision: installed ${missing.join(', ')}`);
