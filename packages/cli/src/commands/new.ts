import { relative } from 'node:path';
import { scaffoldService } from '../scaffold.js';

export interface NewOptions {
  name?: string | undefined;
  packages?: string | undefined;
}

/**
 * `corbel new <dir>`: scaffolds a service and says what to run next.
 *
 * @example
 * await newCommand('chat', { packages: '/tmp/tgz' });
 */
export async function newCommand(dir: string, opts: NewOptions): Promise<void> {
  const result = scaffoldService({
    dir,
    ...(opts.name !== undefined && { name: opts.name }),
    ...(opts.packages !== undefined && { packagesDir: opts.packages }),
  });
  const near = relative(process.cwd(), result.dir);
  const shown = near === '' ? '.' : near.startsWith('..') ? result.dir : near;
  const from = opts.packages === undefined ? 'the npm registry' : result.dependencies['@corbel/core'];
  process.stdout.write(
    [
      `created ${result.name} in ${shown} (${result.files.length} files; Corbel packages from ${from})`,
      '',
      'next:',
      `  cd ${shown}`,
      '  npm install && npm start    # build, run the server and a client, send 3 messages',
      '  npm install && npm test     # build, run the contract tests',
      '',
    ].join('\n'),
  );
}
