import { readFileSync } from 'node:fs';
import { createCorbelMetrics, DEFAULT_LIMITS } from '@corbel/server';
import { describe, expect, it } from 'vitest';

const security = readFileSync(new URL('../../proto-docs/security.md', import.meta.url), 'utf8');
const operating = readFileSync(new URL('../../proto-docs/operating.md', import.meta.url), 'utf8');

describe('the security and operating docs stay in step with the code', () => {
  it('documents every limit option', () => {
    for (const name of Object.keys(DEFAULT_LIMITS)) expect(security).toContain(`\`${name}\``);
  });

  it('documents every Corbel metric', async () => {
    const metrics = createCorbelMetrics({ processMetrics: false });
    const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) expect(operating).toContain(`\`${name}\``);
  });
});
