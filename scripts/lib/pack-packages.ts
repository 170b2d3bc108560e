import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The published packages, in dependency order. */
export const PACKAGES = [
  'core',
  'server',
  'client',
  'store-sqlite',
  'store-redis',
  'testing',
  'cli',
] as const;

export interface PackedPackage {
  name: string;
  dir: string;
  tarball: string;
  bytes: number;
  files: string[];
}

/**
 * `npm pack` of every published package into `outDir` (their `prepack` builds
 * first, as a publish would). Returns each tarball with its size and file list.
 */
export function packPackages(outDir: string): PackedPackage[] {
  const out = execFileSync(
    'npm',
    ['pack', '--json', '--pack-destination', outDir, ...PACKAGES.map((p) => `--workspace=packages/${p}`)],
    { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const packed = JSON.parse(out) as {
    name: string;
    filename: string;
    size: number;
    files: { path: string }[];
  }[];
  return packed.map((p) => ({
    name: p.name,
    dir: join(REPO_ROOT, 'packages', p.name.replace('@corbel/', '')),
    tarball: join(outDir, p.filename),
    bytes: p.size,
    files: p.files.map((f) => f.path).sort(),
  }));
}

/** The version every package is published at (they move together). */
export function corbelVersion(): string {
  return (
    JSON.parse(readFileSync(join(REPO_ROOT, 'packages/core/package.json'), 'utf8')) as { version: string }
  ).version;
}

/** Tarballs already in a folder, by package name (`corbel-core-0.1.0.tgz` → `@corbel/core`). */
export function tarballsIn(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of readdirSync(dir)) {
    const m = /^corbel-(.+)-\d+\.\d+\.\d+(?:-[\w.]+)?\.tgz$/.exec(file);
    if (m) found.set(`@corbel/${m[1]}`, join(dir, file));
  }
  return found;
}
