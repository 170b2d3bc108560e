import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportContract, renderContractMarkdown } from '@corbel/core';
import { services } from './services.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the generated files live, relative to the repository root. */
export const SERVICES_DIR = 'proto-docs/services';

/**
 * The generated files for every registered service: `<service>.md` and
 * `<service>.contract.json`, keyed by path relative to the repository root.
 *
 * @example
 * for (const [file, text] of await serviceDocs()) writeFileSync(file, text);
 */
export async function serviceDocs(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const load of Object.values(services)) {
    const { contractSource } = await load();
    const contract = exportContract(contractSource);
    files.set(`${SERVICES_DIR}/${contract.service}.contract.json`, `${JSON.stringify(contract, null, 2)}\n`);
    const page = `${SERVICES_DIR}/${contract.service}.md`;
    files.set(page, formatMarkdown(page, renderContractMarkdown(contract)));
  }
  return files;
}

/**
 * Formats generated markdown with the repository's own Biome settings, so the
 * committed pages pass `npm run lint` exactly as generated.
 */
function formatMarkdown(file: string, text: string): string {
  const biome = createRequire(import.meta.url).resolve('@biomejs/biome/bin/biome');
  const out = spawnSync(process.execPath, [biome, 'format', `--stdin-file-path=${file}`], {
    cwd: root,
    input: text,
    encoding: 'utf8',
  });
  if (out.status !== 0) throw new Error(`biome could not format ${file}: ${out.stderr}`);
  return out.stdout;
}
