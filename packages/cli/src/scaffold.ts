import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError, EXIT } from './exit-codes.js';
import { VERSION } from './version.js';

/** The Corbel packages a scaffolded service depends on. */
export const SCAFFOLD_PACKAGES = ['core', 'server', 'client', 'store-sqlite', 'testing'] as const;

// Shipped beside src/ and dist/, so the same relative path works from both.
const TEMPLATE_DIR = fileURLToPath(new URL('../templates/service/', import.meta.url));

// Only these files are filled in: the TypeScript templates stay valid TypeScript
// (they reach the contract through the workspace's "#contract" import instead).
const SUBSTITUTED = new Set(['package.json', 'README.md']);

// npm never packs a file named .gitignore, so the template ships it as
// _gitignore; and its package.json files as _package.json, since nested
// manifests inside a published package confuse tools that read them (publint).
const RENAMED: Record<string, string> = { _gitignore: '.gitignore', '_package.json': 'package.json' };

// An npm package name, lower case, optionally scoped; "-contract" and friends are appended to it.
const NAME = /^(?:@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/;

export interface ScaffoldOptions {
  /** Where to create the service; must not exist or be empty. */
  dir: string;
  /** The npm name of the root package (default: the directory's name). */
  name?: string | undefined;
  /** A directory of `npm pack`ed Corbel tarballs to depend on instead of the registry. */
  packagesDir?: string | undefined;
}

export interface ScaffoldResult {
  /** The absolute directory written. */
  dir: string;
  name: string;
  /** The files written, relative to `dir`. */
  files: string[];
  /** The version spec each Corbel package got, e.g. `^0.1.0` or `file:/abs/corbel-core-0.1.0.tgz`. */
  dependencies: Record<string, string>;
}

/**
 * Writes a new Corbel service (contract, server and client workspaces, a
 * conformance test and a demo) from the templates into an empty directory.
 *
 * @example
 * scaffoldService({ dir: 'chat', packagesDir: '/tmp/tgz' });
 */
export function scaffoldService(opts: ScaffoldOptions): ScaffoldResult {
  const dir = resolve(opts.dir);
  const name = opts.name ?? basename(dir).toLowerCase();
  if (!NAME.test(name) || name.length > 200) {
    throw new CliError(
      EXIT.USAGE,
      'usage',
      `"${name}" is not a valid package name: use lower-case letters, digits, ".", "_" and "-" (optionally @scope/name); pass --name <name>`,
    );
  }
  checkTarget(dir);
  const dependencies = corbelDependencies(opts.packagesDir);
  const values: Record<string, string> = { name, ...dependencies };

  const files: string[] = [];
  for (const source of walk(TEMPLATE_DIR)) {
    const rel = relative(TEMPLATE_DIR, source);
    const file = RENAMED[basename(rel)] ?? basename(rel);
    const target = join(dir, dirname(rel), file);
    const content = readFileSync(source);
    let text = SUBSTITUTED.has(file) ? fill(content.toString('utf8'), values, rel) : undefined;
    if (rel === '_package.json' && opts.packagesDir !== undefined) text = withOverrides(text!, dependencies);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text ?? content);
    files.push(relative(dir, target));
  }
  return { dir, name, files: files.sort(), dependencies };
}

/** Refuses a target that is a file or a directory with anything in it. */
function checkTarget(dir: string): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) {
    throw new CliError(EXIT.USAGE, 'usage', `${dir} exists and is not a directory`);
  }
  if (readdirSync(dir).length > 0) {
    throw new CliError(
      EXIT.USAGE,
      'usage',
      `${dir} is not empty: give a new or empty directory (nothing was written)`,
    );
  }
}

/**
 * `^VERSION` for every Corbel package, or with `packagesDir` the `file:` path of
 * each package's tarball, so one install takes every Corbel package from the
 * same place and they come out consistent.
 */
function corbelDependencies(packagesDir: string | undefined): Record<string, string> {
  const deps: Record<string, string> = {};
  if (packagesDir === undefined) {
    for (const pkg of SCAFFOLD_PACKAGES) deps[`@corbel/${pkg}`] = `^${VERSION}`;
    return deps;
  }
  const from = resolve(packagesDir);
  let entries: string[];
  try {
    entries = readdirSync(from);
  } catch {
    throw new CliError(EXIT.USAGE, 'usage', `--packages ${packagesDir}: no such directory`);
  }
  const missing: string[] = [];
  for (const pkg of SCAFFOLD_PACKAGES) {
    const tarball = pickTarball(entries, pkg, from);
    if (tarball) deps[`@corbel/${pkg}`] = `file:${join(from, tarball)}`;
    else missing.push(`corbel-${pkg}-<version>.tgz`);
  }
  if (missing.length > 0) {
    throw new CliError(
      EXIT.USAGE,
      'usage',
      `--packages ${packagesDir} lacks ${missing.join(', ')} (run "npm pack" in each package, or "npm pack --workspaces --pack-destination <dir>")`,
    );
  }
  return deps;
}

/** The tarball `npm pack` made for @corbel/<pkg>: this CLI's version when there are several. */
function pickTarball(entries: string[], pkg: string, from: string): string | undefined {
  // The version must follow the name directly, so corbel-store-… never matches "store".
  const pattern = new RegExp(`^corbel-${pkg.replace(/[.-]/g, '\\$&')}-(\\d[^/]*)\\.tgz$`);
  const found = entries.filter((entry) => pattern.test(entry));
  if (found.length <= 1) return found[0];
  const same = found.find((entry) => entry === `corbel-${pkg}-${VERSION}.tgz`);
  if (same) return same;
  throw new CliError(
    EXIT.USAGE,
    'usage',
    `--packages ${from} has several tarballs of @corbel/${pkg} (${found.join(', ')}) and none of version ${VERSION}: keep one`,
  );
}

/**
 * Adds npm `overrides` pinning every Corbel package to its tarball: the
 * packages depend on each other by version (e.g. @corbel/testing on
 * @corbel/client 0.1.0), and without the override npm looks those up in the
 * registry instead of taking the tarball.
 */
function withOverrides(packageJson: string, dependencies: Record<string, string>): string {
  const manifest = JSON.parse(packageJson) as Record<string, unknown>;
  manifest.overrides = { ...(manifest.overrides as object | undefined), ...dependencies };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** Replaces every `{{key}}`; a key without a value is a bug in the templates, not a user error. */
function fill(text: string, values: Record<string, string>, file: string): string {
  return text.replace(/\{\{([^{}]+)\}\}/g, (_match, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`template ${file} uses {{${key}}}, which has no value`);
    return value;
  });
}

/** Every file under `dir`, depth first, in a stable order. */
function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}
