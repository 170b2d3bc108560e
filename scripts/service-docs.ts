import { exportContract, renderContractMarkdown } from '@corbel/core/contract';
import { services } from './services.js';

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
    files.set(page, renderContractMarkdown(contract));
  }
  return files;
}
