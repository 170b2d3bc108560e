import { writeFileSync } from 'node:fs';
import { type ContractChange, diffContracts, formatChange } from '@corbel/core/contract';
import { EXIT } from '../exit-codes.js';
import { type LoadOptions, loadContract } from '../load-contract.js';
import { toPlainJson } from '../render.js';

/**
 * `corbel contract export <module-or-url> [-o file]`.
 *
 * @example
 * await contractExportCommand('apps/weather/src/contract.ts', { output: 'weather.contract.json' });
 */
export async function contractExportCommand(
  spec: string,
  opts: LoadOptions & { output?: string },
): Promise<void> {
  const contract = await loadContract(spec, opts);
  const text = `${JSON.stringify(contract, null, 2)}\n`;
  if (opts.output) {
    writeFileSync(opts.output, text);
    process.stderr.write(
      `wrote ${opts.output}: ${contract.service}, ${contract.procedures.length} procedure${contract.procedures.length === 1 ? '' : 's'}\n`,
    );
  } else process.stdout.write(text);
}

/**
 * `corbel contract diff <old> <new>`: one line per change; exit status 1
 * when any change breaks old clients.
 *
 * @example
 * process.exitCode = await contractDiffCommand('old.contract.json', 'apps/weather/src/contract.ts', {});
 */
export async function contractDiffCommand(
  oldSpec: string,
  newSpec: string,
  opts: LoadOptions & { json?: boolean },
): Promise<number> {
  const [oldContract, newContract] = [await loadContract(oldSpec, opts), await loadContract(newSpec, opts)];
  const diff = diffContracts(oldContract, newContract);
  if (opts.json) {
    process.stdout.write(`${toPlainJson(diff, 2)}\n`);
  } else {
    // Breaking changes first: they are what the reader must act on.
    const ordered: ContractChange[] = [
      ...diff.changes.filter((c) => c.severity === 'breaking'),
      ...diff.changes.filter((c) => c.severity !== 'breaking'),
    ];
    for (const change of ordered) process.stdout.write(`${formatChange(change)}\n`);
    process.stdout.write(
      diff.changes.length === 0
        ? 'no changes\n'
        : `${diff.breaking} breaking, ${diff.compatible} compatible change${diff.compatible === 1 ? '' : 's'}\n`,
    );
  }
  return diff.breaking > 0 ? EXIT.BREAKING : EXIT.OK;
}
