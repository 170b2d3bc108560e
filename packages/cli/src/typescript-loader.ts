import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CliError, EXIT } from './exit-codes.js';

const TYPESCRIPT_FILE = /\.(?:[mc]?ts|tsx)$/;
let registered = false;

/**
 * Lets `import()` load a TypeScript contract module. The installed CLI is plain
 * JavaScript and ships no compiler: it borrows the `tsx` of the project that
 * holds the file (looked up from the file's folder, then the working
 * directory), as `npx tsx` would, and says what to install when there is none.
 */
export async function allowTypeScript(file: string): Promise<void> {
  if (registered || !TYPESCRIPT_FILE.test(file)) return;
  const api = findTsx([dirname(file), process.cwd()]);
  if (!api) {
    throw new CliError(
      EXIT.USAGE,
      'usage',
      `loading ${file} needs TypeScript support: run "npm install --save-dev tsx" in your project, or point corbel at the built .js module`,
    );
  }
  const { register } = (await import(pathToFileURL(api).href)) as { register: () => unknown };
  register();
  registered = true;
}

/** The ESM entry of `tsx/esm/api` as the project at one of `from` resolves it. */
function findTsx(from: string[]): string | undefined {
  for (const dir of from) {
    let manifest: string;
    try {
      manifest = createRequire(join(dir, 'noop.js')).resolve('tsx/package.json');
    } catch {
      continue; // not installed where this folder resolves packages; try the next one
    }
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {
      exports?: Record<string, { import?: { default?: string } | string }>;
    };
    const entry = pkg.exports?.['./esm/api']?.import;
    const path = typeof entry === 'string' ? entry : entry?.default;
    if (path) return join(dirname(manifest), path);
  }
  return undefined;
}
