import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCorbel } from './run-corbel.js';

const dir = mkdtempSync(join(tmpdir(), 'corbel-cli-new-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'packages/cli/package.json'), 'utf8'));
const PACKAGES = ['core', 'server', 'client', 'store-sqlite', 'testing'];

const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
/** Every @corbel/* dependency of the scaffold's package.json files, by file. */
function corbelDeps(root: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const pkg of ['package.json', 'contract/package.json', 'server/package.json', 'client/package.json']) {
    const { dependencies = {}, devDependencies = {} } = json(join(root, pkg));
    for (const [name, spec] of Object.entries({ ...dependencies, ...devDependencies })) {
      if (!name.startsWith('@corbel/')) continue;
      expect(found[name] ?? spec, `${pkg} ${name}`).toBe(spec);
      found[name] = spec as string;
    }
  }
  return found;
}

describe('corbel new', () => {
  it('scaffolds the workspaces, with the name filled in and ^VERSION Corbel deps', async () => {
    const target = join(dir, 'chat');
    const res = await runCorbel(['new', target]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('npm install && npm start');

    for (const file of [
      'package.json',
      'tsconfig.base.json',
      'tsconfig.json',
      'README.md',
      '.gitignore',
      'scripts/demo.mjs',
      'test/service.test.ts',
      'contract/package.json',
      'contract/tsconfig.json',
      'contract/src/index.ts',
      'server/src/main.ts',
      'server/src/index.ts',
      'client/src/main.ts',
      'client/src/index.ts',
    ]) {
      expect(existsSync(join(target, file)), file).toBe(true);
    }
    const root = json(join(target, 'package.json'));
    expect(root).toMatchObject({ name: 'chat', private: true, type: 'module' });
    expect(root.workspaces).toEqual(['contract', 'server', 'client']);
    expect(root.scripts.build).toBe('tsc -b');
    expect(root.scripts.start).toMatch(/npm run build && node scripts\/demo\.mjs/);
    expect(root.scripts.test).toMatch(/npm run build && vitest run/);
    expect(json(join(target, 'contract/package.json')).name).toBe('chat-contract');
    expect(json(join(target, 'server/package.json')).dependencies['chat-contract']).toBeDefined();
    expect(json(join(target, 'client/package.json')).imports['#contract']).toBe('chat-contract');
    expect(readFileSync(join(target, 'README.md'), 'utf8')).toMatch(/^# chat\n/);

    const deps = corbelDeps(target);
    expect(Object.keys(deps).sort()).toEqual(PACKAGES.map((p) => `@corbel/${p}`).sort());
    for (const spec of Object.values(deps)) expect(spec).toBe(`^${version}`);

    // No placeholder is left anywhere, and TypeScript files are copied verbatim.
    for (const file of walk(target)) {
      expect(readFileSync(file, 'utf8'), file).not.toMatch(/\{\{[^}]*\}\}/);
    }
    const template = join(REPO_ROOT, 'packages/cli/templates/service/contract/src/index.ts');
    expect(readFileSync(join(target, 'contract/src/index.ts'), 'utf8')).toBe(readFileSync(template, 'utf8'));
  });

  it('--name names the packages; --packages points every Corbel dep at its tarball', async () => {
    const tgz = join(dir, 'tgz');
    mkdirSync(tgz);
    for (const pkg of PACKAGES) writeFileSync(join(tgz, `corbel-${pkg}-${version}.tgz`), '');
    // Another package's tarball with a prefix in common must not be taken for @corbel/store-sqlite's.
    writeFileSync(join(tgz, 'corbel-store-redis-0.1.0.tgz'), '');

    const target = join(dir, 'svc');
    const res = await runCorbel(['new', target, '--name', '@acme/board', '--packages', tgz]);
    expect(res.code, res.stderr).toBe(0);
    expect(json(join(target, 'package.json')).name).toBe('@acme/board');
    expect(json(join(target, 'server/package.json')).name).toBe('@acme/board-server');
    const deps = corbelDeps(target);
    // Overrides too: the packages depend on each other by version, which npm would seek in the registry.
    expect(json(join(target, 'package.json')).overrides).toEqual(deps);
    for (const pkg of PACKAGES)
      expect(deps[`@corbel/${pkg}`]).toBe(`file:${join(tgz, `corbel-${pkg}-${version}.tgz`)}`);
  });

  it('refuses a non-empty directory, a bad name and a --packages dir missing a tarball, writing nothing', async () => {
    const full = join(dir, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'notes.txt'), 'keep me');
    const busy = await runCorbel(['new', full]);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toMatch(/^corbel: usage: .*full is not empty/);
    expect(readdirSync(full)).toEqual(['notes.txt']);

    const badName = await runCorbel(['new', join(dir, 'bad'), '--name', 'Not A Name']);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('"Not A Name" is not a valid package name');
    expect(existsSync(join(dir, 'bad'))).toBe(false);

    const partial = join(dir, 'partial');
    mkdirSync(partial);
    writeFileSync(join(partial, `corbel-core-${version}.tgz`), '');
    const missing = await runCorbel(['new', join(dir, 'missing'), '--packages', partial]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('lacks corbel-server-<version>.tgz');
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });

  it('--help says what it creates, with examples', async () => {
    const res = await runCorbel(['new', '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Usage: corbel new [options] <dir>');
    expect(res.stdout).toContain('--packages <dir>');
    expect(res.stdout).toContain('Examples:');
    const top = await runCorbel(['--help']);
    expect(top.stdout).toMatch(/new \[options\] <dir>/);
  });
});

function walk(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}
