import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { serviceDocs } from '../../scripts/service-docs.js';

const root = join(import.meta.dirname, '..', '..');

// The committed docs and contracts are generated from the routers; this fails
// whenever a router changes without `npm run docs` being run and committed.
describe('proto-docs/services', async () => {
  const files = await serviceDocs();

  it('has the weather service', () => {
    expect([...files.keys()]).toContain('proto-docs/services/weather.contract.json');
  });

  it.each([...files.keys()])('%s is up to date (run `npm run docs` if not)', (file) => {
    let committed: string;
    try {
      committed = readFileSync(join(root, file), 'utf8');
    } catch {
      throw new Error(`${file} is missing: run npm run docs and commit it`);
    }
    expect(committed, `${file} is stale: run npm run docs and commit the result`).toBe(files.get(file));
  });
});
