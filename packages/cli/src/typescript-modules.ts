import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CliError, EXIT } from './exit-codes.js';

const TS_EXTENSIONS = /\.(ts|mts|cts|tsx)$/;
let enabled = false;

/** Whether `file` is TypeScript, which node cannot import by itself. */
export function isTypeScriptFile(file: string): boolean {
  return TS_EXTENSIONS.test(file);
}

/**
 * Makes `import()` able to load the TypeScript module `file` (a contract
 * module given to `contract export` or `docs`) by registering tsx from the
 * module's own project, or else from the working directory. The CLI itself
 * runs compiled JavaScript and does not depend on tsx: a project that keeps
 * its contract in TypeScript already has a TypeScript runner, so its own is
 * used, and none is loaded at all for .js modules and .json contracts.
 *
 * @example
 * if (isTypeScriptFile(file)) await enableTypeScript(file, spec);
 * const mod = await import(pathToFileURL(file).href);
 */
export async function enableTypeScript(file: string, spec: string): Promise<void> {
  if (enabled) return;
  const api = findTsx([file, join(process.cwd(), 'package.json')]);
  if (!api) {
    throw new CliError(
      EXIT.USAGE,
      'usage',
      `cannot load ${spec}: a TypeScript module needs tsx in its project (npm install --save-dev tsx), or give the compiled .js module`,
    );
  }
  const { register } = (await import(pathToFileURL(api).href)) as { register?: () => unknown };
  if (typeof register !== 'function') {
    throw new CliError(EXIT.USAGE, 'usage', `cannot load ${spec}: ${api} has no register()`);
  }
  register();
  enabled = true;
}

/**
 * The ES module file of tsx's loader API as seen from the first of `from` that
 * has tsx. Read from tsx's exports map: node 20 cannot resolve an `import`
 * condition relative to another directory, and tsx's CommonJS build of the
 * API cannot be imported from an ES module.
 */
function findTsx(from: string[]): string | undefined {
  for (const path of from) {
    let manifest: string;
    try {
      manifest = createRequire(join(dirname(path), 'noop.js')).resolve('tsx/package.json');
    } catch {
      continue;
    }
    const exports = JSON.parse(readFileSync(manifest, 'utf8')).exports?.['./esm/api'];
    const target = exports?.import?.default ?? exports?.import;
    if (typeof target === 'string') return join(dirname(manifest), target);
  }
  return undefined;
}
