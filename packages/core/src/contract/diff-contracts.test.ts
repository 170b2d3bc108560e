import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineChannel } from '../channel.js';
import { initCorbel } from '../init.js';
import type { ContractDocument } from './contract-document.js';
import { type ChangeKind, diffContracts, formatChange } from './diff-contracts.js';
import { exportContract } from './export-contract.js';

const t = initCorbel();

interface Spec {
  kind?: 'query' | 'mutation' | 'subscription';
  input?: z.ZodType | null;
  output?: z.ZodType | null;
  event?: z.ZodType;
  description?: string;
  resumable?: boolean;
}

/** A one-procedure contract ("svc.p") from a spec, through the real export. */
function contract(spec: Spec, extra: Record<string, Spec> = {}): ContractDocument {
  const build = (s: Spec) => {
    let p: any = t.procedure;
    if (s.description) p = p.meta({ description: s.description });
    const kind = s.kind ?? 'query';
    let input = s.input === undefined ? z.object({ city: z.string() }) : s.input;
    if (kind === 'subscription' && s.resumable !== false) {
      input = (input as z.ZodObject<any> | null)?.extend({ lastEventId: z.string().optional() }) ?? null;
    }
    if (input) p = p.input(input);
    if (kind !== 'subscription') {
      const output = s.output === undefined ? z.object({ id: z.string() }) : s.output;
      if (output) p = p.output(output);
      return kind === 'query' ? p.query(() => null) : p.mutation(() => null);
    }
    return p.subscription(async function* () {});
  };
  const procedures: Record<string, any> = { p: build(spec) };
  for (const [name, s] of Object.entries(extra)) procedures[name] = build(s);
  const events: Record<string, any> = {};
  for (const [name, s] of Object.entries({ p: spec, ...extra })) {
    if (s.event) events[`svc.${name}`] = defineChannel(`svc.${name}`, s.event);
  }
  return exportContract({ service: 'svc', router: t.router({ svc: t.router(procedures) }), events });
}

const reading = z.object({ city: z.string(), celsius: z.number(), at: z.date() });
const obj = (shape: Record<string, z.ZodType>) => z.object(shape);

interface Case {
  name: string;
  old: ContractDocument;
  new: ContractDocument;
  kind: ChangeKind;
  severity: 'breaking' | 'compatible';
  /** Where the change is reported, when it matters. */
  at?: string;
}

const cases: Case[] = [
  {
    name: 'procedure removed',
    old: contract({}, { q: {} }),
    new: contract({}),
    kind: 'procedure-removed',
    severity: 'breaking',
  },
  {
    name: 'procedure added',
    old: contract({}),
    new: contract({}, { q: {} }),
    kind: 'procedure-added',
    severity: 'compatible',
  },
  {
    name: 'query became mutation',
    old: contract({}),
    new: contract({ kind: 'mutation' }),
    kind: 'kind-changed',
    severity: 'breaking',
  },
  {
    name: 'mutation became subscription',
    old: contract({ kind: 'mutation' }),
    new: contract({ kind: 'subscription' }),
    kind: 'kind-changed',
    severity: 'breaking',
  },
  {
    name: 'description changed',
    old: contract({ description: 'a' }),
    new: contract({ description: 'b' }),
    kind: 'description-changed',
    severity: 'compatible',
  },
  {
    name: 'input added',
    old: contract({ input: null }),
    new: contract({}),
    kind: 'input-added',
    severity: 'breaking',
  },
  {
    name: 'input removed',
    old: contract({}),
    new: contract({ input: null }),
    kind: 'input-removed',
    severity: 'compatible',
  },
  {
    name: 'output declared',
    old: contract({ output: null }),
    new: contract({}),
    kind: 'output-declared',
    severity: 'compatible',
  },
  {
    name: 'output undeclared',
    old: contract({}),
    new: contract({ output: null }),
    kind: 'output-undeclared',
    severity: 'breaking',
  },
  // Input: values flow into the server; narrowing breaks old clients.
  {
    name: 'required input field added',
    old: contract({}),
    new: contract({ input: obj({ city: z.string(), station: z.string() }) }),
    kind: 'field-added-required',
    severity: 'breaking',
    at: 'input.station',
  },
  {
    name: 'optional input field added',
    old: contract({}),
    new: contract({ input: obj({ city: z.string(), station: z.string().optional() }) }),
    kind: 'field-added-optional',
    severity: 'compatible',
  },
  {
    name: 'input field removed (open object)',
    old: contract({ input: obj({ city: z.string(), unit: z.string() }) }),
    new: contract({}),
    kind: 'field-removed',
    severity: 'compatible',
  },
  {
    name: 'input field removed (strict object)',
    old: contract({ input: z.strictObject({ city: z.string(), unit: z.string() }) }),
    new: contract({ input: z.strictObject({ city: z.string() }) }),
    kind: 'field-removed',
    severity: 'breaking',
  },
  {
    name: 'input field became required',
    old: contract({ input: obj({ city: z.string().optional() }) }),
    new: contract({}),
    kind: 'field-became-required',
    severity: 'breaking',
  },
  {
    name: 'input field became optional',
    old: contract({}),
    new: contract({ input: obj({ city: z.string().optional() }) }),
    kind: 'field-became-optional',
    severity: 'compatible',
  },
  {
    name: 'input type changed',
    old: contract({}),
    new: contract({ input: obj({ city: z.number() }) }),
    kind: 'type-changed',
    severity: 'breaking',
  },
  {
    name: 'input type narrowed (number to integer)',
    old: contract({ input: obj({ city: z.number() }) }),
    new: contract({ input: obj({ city: z.int() }) }),
    kind: 'type-narrowed',
    severity: 'breaking',
  },
  {
    name: 'input type widened (integer to number)',
    old: contract({ input: obj({ city: z.int() }) }),
    new: contract({ input: obj({ city: z.number() }) }),
    kind: 'type-widened',
    severity: 'compatible',
  },
  {
    name: 'input enum value removed',
    old: contract({ input: obj({ city: z.enum(['oslo', 'rome']) }) }),
    new: contract({ input: obj({ city: z.enum(['oslo']) }) }),
    kind: 'enum-value-removed',
    severity: 'breaking',
  },
  {
    name: 'input enum widened',
    old: contract({ input: obj({ city: z.enum(['oslo']) }) }),
    new: contract({ input: obj({ city: z.enum(['oslo', 'rome']) }) }),
    kind: 'enum-value-added',
    severity: 'compatible',
  },
  {
    name: 'input max length lowered',
    old: contract({ input: obj({ city: z.string().max(100) }) }),
    new: contract({ input: obj({ city: z.string().max(10) }) }),
    kind: 'constraint-tightened',
    severity: 'breaking',
  },
  {
    name: 'input minimum lowered',
    old: contract({ input: obj({ city: z.number().min(0) }) }),
    new: contract({ input: obj({ city: z.number().min(-100) }) }),
    kind: 'constraint-loosened',
    severity: 'compatible',
  },
  {
    name: 'input pattern changed',
    old: contract({ input: obj({ city: z.string().regex(/^[a-z]+$/) }) }),
    new: contract({ input: obj({ city: z.string().regex(/^[A-Z]+$/) }) }),
    kind: 'constraint-changed',
    severity: 'breaking',
  },
  {
    name: 'input nullable added',
    old: contract({}),
    new: contract({ input: obj({ city: z.string().nullable() }) }),
    kind: 'nullable-added',
    severity: 'compatible',
  },
  {
    name: 'input nullable removed',
    old: contract({ input: obj({ city: z.string().nullable() }) }),
    new: contract({}),
    kind: 'nullable-removed',
    severity: 'breaking',
  },
  {
    name: 'input object became strict',
    old: contract({}),
    new: contract({ input: z.strictObject({ city: z.string() }) }),
    kind: 'object-became-strict',
    severity: 'breaking',
  },
  {
    name: 'input union member added',
    old: contract({ input: obj({ city: z.union([z.string(), z.object({ id: z.number() })]) }) }),
    new: contract({ input: obj({ city: z.union([z.string(), z.object({ id: z.number() }), z.boolean()]) }) }),
    kind: 'union-member-added',
    severity: 'compatible',
  },
  {
    name: 'output union member added',
    old: contract({ output: obj({ id: z.union([z.string(), z.object({ n: z.number() })]) }) }),
    new: contract({ output: obj({ id: z.union([z.string(), z.object({ n: z.number() }), z.boolean()]) }) }),
    kind: 'union-member-added',
    severity: 'breaking',
  },
  {
    name: 'input union member removed',
    old: contract({ input: obj({ city: z.union([z.string(), z.object({ id: z.number() }), z.boolean()]) }) }),
    new: contract({ input: obj({ city: z.union([z.string(), z.object({ id: z.number() })]) }) }),
    kind: 'union-member-removed',
    severity: 'breaking',
  },
  {
    name: 'input default changed',
    old: contract({ input: obj({ city: z.string().default('Oslo') }) }),
    new: contract({ input: obj({ city: z.string().default('Rome') }) }),
    kind: 'default-changed',
    severity: 'compatible',
  },
  // Output: values flow out of the server; widening breaks old clients.
  {
    name: 'output field added',
    old: contract({}),
    new: contract({ output: obj({ id: z.string(), at: z.date() }) }),
    kind: 'field-added-required',
    severity: 'compatible',
    at: 'output.at',
  },
  {
    name: 'required output field removed',
    old: contract({ output: obj({ id: z.string(), at: z.date() }) }),
    new: contract({}),
    kind: 'field-removed',
    severity: 'breaking',
  },
  {
    name: 'optional output field removed',
    old: contract({ output: obj({ id: z.string(), note: z.string().optional() }) }),
    new: contract({}),
    kind: 'field-removed',
    severity: 'compatible',
  },
  {
    name: 'output field became optional',
    old: contract({}),
    new: contract({ output: obj({ id: z.string().optional() }) }),
    kind: 'field-became-optional',
    severity: 'breaking',
  },
  {
    name: 'output became nullable',
    old: contract({}),
    new: contract({ output: obj({ id: z.string() }).nullable() }),
    kind: 'nullable-added',
    severity: 'breaking',
  },
  {
    name: 'output nullable removed',
    old: contract({ output: obj({ id: z.string() }).nullable() }),
    new: contract({}),
    kind: 'nullable-removed',
    severity: 'compatible',
  },
  {
    name: 'output enum widened',
    old: contract({ output: obj({ id: z.enum(['a']) }) }),
    new: contract({ output: obj({ id: z.enum(['a', 'b']) }) }),
    kind: 'enum-value-added',
    severity: 'breaking',
  },
  {
    name: 'output enum narrowed',
    old: contract({ output: obj({ id: z.enum(['a', 'b']) }) }),
    new: contract({ output: obj({ id: z.enum(['a']) }) }),
    kind: 'enum-value-removed',
    severity: 'compatible',
  },
  {
    name: 'output Date became string',
    old: contract({ output: obj({ id: z.date() }) }),
    new: contract({ output: obj({ id: z.string() }) }),
    kind: 'superjson-type-changed',
    severity: 'breaking',
  },
  {
    name: 'output Map value type changed',
    old: contract({ output: obj({ id: z.map(z.string(), z.number()) }) }),
    new: contract({ output: obj({ id: z.map(z.string(), z.string()) }) }),
    kind: 'type-changed',
    severity: 'breaking',
    at: 'output.id[][1]',
  },
  {
    name: 'output BigInt became number',
    old: contract({ output: obj({ id: z.bigint() }) }),
    new: contract({ output: obj({ id: z.number() }) }),
    kind: 'superjson-type-changed',
    severity: 'breaking',
  },
  {
    name: 'output bound loosened',
    old: contract({ output: obj({ id: z.number().max(10) }) }),
    new: contract({ output: obj({ id: z.number().max(20) }) }),
    kind: 'constraint-loosened',
    severity: 'breaking',
  },
  {
    name: 'output array item type changed',
    old: contract({ output: obj({ id: z.array(z.string()) }) }),
    new: contract({ output: obj({ id: z.array(z.number()) }) }),
    kind: 'type-changed',
    severity: 'breaking',
    at: 'output.id[]',
  },
  // Events: like outputs, read by old subscribers.
  {
    name: 'resumable removed',
    old: contract({ kind: 'subscription', event: reading }),
    new: contract({ kind: 'subscription', event: reading, resumable: false }),
    kind: 'resumable-removed',
    severity: 'breaking',
  },
  {
    name: 'resumable added',
    old: contract({ kind: 'subscription', event: reading, resumable: false }),
    new: contract({ kind: 'subscription', event: reading }),
    kind: 'resumable-added',
    severity: 'compatible',
  },
  {
    name: 'event field removed',
    old: contract({ kind: 'subscription', event: reading }),
    new: contract({ kind: 'subscription', event: reading.omit({ at: true }) }),
    kind: 'field-removed',
    severity: 'breaking',
    at: 'event.at',
  },
  {
    name: 'event field added',
    old: contract({ kind: 'subscription', event: reading }),
    new: contract({ kind: 'subscription', event: reading.extend({ station: z.string() }) }),
    kind: 'field-added-required',
    severity: 'compatible',
  },
  {
    name: 'event payload undeclared',
    old: contract({ kind: 'subscription', event: reading }),
    new: contract({ kind: 'subscription' }),
    kind: 'event-payload-undeclared',
    severity: 'breaking',
  },
  {
    name: 'event payload declared',
    old: contract({ kind: 'subscription' }),
    new: contract({ kind: 'subscription', event: reading }),
    kind: 'event-payload-declared',
    severity: 'compatible',
  },
];

describe('diffContracts', () => {
  it('covers at least 25 distinct change kinds', () => {
    expect(new Set(cases.map((c) => c.kind)).size).toBeGreaterThanOrEqual(25);
  });

  it.each(cases)('$name → $kind ($severity)', (c) => {
    const { changes } = diffContracts(c.old, c.new);
    const found = changes.filter((ch) => ch.kind === c.kind && (c.at === undefined || ch.at === c.at));
    expect(found, changes.map(formatChange).join('\n')).not.toHaveLength(0);
    expect(found[0]!.severity).toBe(c.severity);
    // Every line says whom it breaks, or why it does not.
    expect(formatChange(found[0]!)).toMatch(
      c.severity === 'breaking' ? /breaks old (clients|subscribers)/ : /compatible:/,
    );
  });

  it('reports nothing for identical contracts, and counts breaking changes', () => {
    expect(diffContracts(contract({}), contract({})).changes).toEqual([]);
    const diff = diffContracts(contract({}, { q: {} }), contract({ input: obj({ city: z.number() }) }));
    expect(diff.breaking).toBe(2);
  });
});
