import type { ContractSource } from '@corbel/core/contract';

/**
 * Every app whose contract and docs `npm run docs` publishes in
 * proto-docs/services/. Adding an app is one line: a module exporting
 * `contractSource`.
 */
export const services: Record<string, () => Promise<{ contractSource: ContractSource }>> = {
  weather: () => import('../apps/weather/src/contract.js'),
  jobs: () => import('../apps/jobs/src/contract.js'),
};
