import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportContract, renderContractMarkdown } from '@corbel/core/contract';
import { CliError, EXIT } from '../exit-codes.js';
import { type LoadOptions, loadSource } from '../load-contract.js';

/**
 * `corbel docs <module> -o <dir>`: writes `<service>.md` and `<service>.contract.json`.
 *
 * @example
 * await docsCommand('apps/weather/src/contract.ts', { output: 'docs' });
 */
export async function docsCommand(spec: string, opts: LoadOptions & { output?: string }): Promise<void> {
  if (!opts.output) throw new CliError(EXIT.USAGE, 'usage', 'say where to write the docs: -o <dir>');
  const contract = exportContract(await loadSource(spec, opts));
  mkdirSync(opts.output, { recursive: true });
  const json = join(opts.output, `${contract.service}.contract.json`);
  const md = join(opts.output, `${contract.service}.md`);
  writeFileSync(json, `${JSON.stringify(contract, null, 2)}\n`);
  writeFileSync(md, renderContractMarkdown(contract, { protocolLink: 'protocol.md' }));
  process.stderr.write(`wrote ${md}\nwrote ${json}\n`);
}
