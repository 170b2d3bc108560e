import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineChannel } from '../channel.js';
import { initCorbel } from '../init.js';
import { parseContract } from './contract-document.js';
import { exportContract } from './export-contract.js';
import { renderContractMarkdown } from './render-markdown.js';

const t = initCorbel();
const tick = defineChannel(
  'clock.ticks',
  z.object({ at: z.date(), seen: z.set(z.string()), counts: z.map(z.string(), z.bigint()) }),
);
const router = t.router({
  clock: t.router({
    now: t.procedure
      .meta({ description: 'The time.' })
      .input(z.object({ zone: z.string().describe('IANA zone') }))
      .output(z.object({ at: z.date(), big: z.bigint() }))
      .query(() => ({ at: new Date(), big: 1n })),
    ticks: t.procedure
      .input(z.object({ lastEventId: z.string().optional() }))
      .subscription(async function* () {}),
    plain: t.procedure.subscription(async function* () {}),
  }),
});

describe('exportContract', () => {
  const doc = exportContract({ service: 'clock', router, events: { 'clock.ticks': tick } });

  it('lists every procedure with its kind, sorted by path', () => {
    expect(doc.procedures.map((p) => [p.path, p.kind])).toEqual([
      ['clock.now', 'query'],
      ['clock.plain', 'subscription'],
      ['clock.ticks', 'subscription'],
    ]);
    expect(parseContract(JSON.parse(JSON.stringify(doc)))).toEqual(doc);
  });

  it('describes superjson types as themselves, not as {}', () => {
    const now = doc.procedures[0]!;
    expect(now.description).toBe('The time.');
    expect((now.input as any).properties.zone.description).toBe('IANA zone');
    expect((now.output as any).properties.at).toEqual({
      type: 'string',
      format: 'date-time',
      'x-superjson': 'Date',
    });
    expect((now.output as any).properties.big['x-superjson']).toBe('bigint');
    const payload = doc.procedures[2]!.events!.payload as any;
    expect(payload.properties.seen).toMatchObject({ type: 'array', uniqueItems: true, 'x-superjson': 'Set' });
    expect(payload.properties.counts['x-superjson']).toBe('Map');
    expect(payload.properties.counts.items.prefixItems[1]['x-superjson']).toBe('bigint');
  });

  it('says which channels resume by id', () => {
    expect(doc.procedures[2]!.events).toMatchObject({ channel: 'clock.ticks', resumable: true });
    expect(doc.procedures[1]!.events).toEqual({ channel: null, payload: null, resumable: false });
  });

  it('renders markdown with types, examples and errors', () => {
    const md = renderContractMarkdown(doc);
    expect(md).toContain('### clock.now');
    expect(md).toContain('| `at` | `Date` | yes |');
    expect(md).toContain('`Map<string, bigint>`');
    expect(md).toContain('HISTORY_GONE');
  });

  it('refuses documents that are not contracts', () => {
    expect(() => parseContract({ format: 'openapi' })).toThrow(/not a Corbel contract/);
  });
});
