import { type JsonSchema, SUPERJSON_KEY } from './json-schema.js';

/** Which way values flow through a schema: into the server (input) or out of it (output, events). */
export type Flow = 'input' | 'output';

/** The kinds of change found inside a schema. */
export type SchemaChangeKind =
  | 'field-added-required'
  | 'field-added-optional'
  | 'field-removed'
  | 'field-became-optional'
  | 'field-became-required'
  | 'type-changed'
  | 'type-widened'
  | 'type-narrowed'
  | 'superjson-type-changed'
  | 'nullable-added'
  | 'nullable-removed'
  | 'enum-value-added'
  | 'enum-value-removed'
  | 'constraint-tightened'
  | 'constraint-loosened'
  | 'constraint-changed'
  | 'object-became-strict'
  | 'object-became-open'
  | 'union-member-added'
  | 'union-member-removed'
  | 'default-changed';

export interface SchemaChange {
  kind: SchemaChangeKind;
  /** Where in the value, e.g. "city", "readings[].at", or "" for the whole value. */
  at: string;
  /** Old and new, in words, for the message. */
  detail: string;
  /**
   * Accepts more values (widened) or fewer (narrowed); "changed" when neither
   * contains the other; "none" for changes that move no boundary.
   */
  effect: 'widened' | 'narrowed' | 'changed' | 'none';
}

const LOWER_BOUNDS = ['minimum', 'exclusiveMinimum', 'minLength', 'minItems', 'minProperties'];
const UPPER_BOUNDS = ['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems', 'maxProperties'];
const EXACT_CONSTRAINTS = ['pattern', 'format', 'multipleOf', 'uniqueItems'];

/**
 * Compares two JSON Schemas of the same value and lists what changed, each
 * with whether the set of accepted values widened or narrowed. Whether that
 * breaks anyone depends on the flow, which `diffContracts` decides.
 */
export function diffSchemas(oldSchema: JsonSchema, newSchema: JsonSchema, at = ''): SchemaChange[] {
  const out: SchemaChange[] = [];
  compare(oldSchema, newSchema, at, out);
  return out;
}

interface Node {
  schema: JsonSchema;
  nullable: boolean;
  /** Type names; superjson tags replace the JSON type they travel as. "any" when unconstrained. */
  types: Set<string>;
  /** Allowed values (enum or const) as canonical JSON, or null when any value of the type. */
  values: Set<string> | null;
  /** Union members other than null, as canonical JSON, or null when not a union. */
  union: Map<string, JsonSchema> | null;
}

function normalize(raw: JsonSchema): Node {
  let schema = raw;
  let nullable = false;
  const anyOf = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  let union: Map<string, JsonSchema> | null = null;
  if (Array.isArray(anyOf)) {
    const rest = anyOf.filter((m) => !isNull(m));
    nullable = rest.length < anyOf.length;
    if (rest.length === 1) {
      const { anyOf: _a, oneOf: _o, ...outer } = schema;
      schema = { ...outer, ...rest[0]! };
    } else {
      union = new Map(rest.map((m) => [canonical(m), m]));
    }
  }
  let types = new Set<string>();
  const tag = schema[SUPERJSON_KEY];
  if (typeof tag === 'string') types.add(tag);
  else if (Array.isArray(schema.type)) for (const t of schema.type) types.add(String(t));
  else if (typeof schema.type === 'string') types.add(schema.type);
  else if (schema.const !== undefined) types.add(typeof schema.const);
  if (types.has('null')) {
    nullable = true;
    types.delete('null');
  }
  if (Array.isArray(schema.enum) && schema.enum.includes(null)) nullable = true;
  if (types.size === 0 && !union) types = new Set(['any']);
  let values: Set<string> | null = null;
  if (Array.isArray(schema.enum)) values = new Set(schema.enum.filter((v) => v !== null).map(canonical));
  else if (schema.const !== undefined) values = new Set([canonical(schema.const)]);
  return { schema, nullable, types, values, union };
}

function isNull(s: JsonSchema): boolean {
  return s.type === 'null' || (Array.isArray(s.enum) && s.enum.length === 1 && s.enum[0] === null);
}

/** JSON with sorted keys, so equal schemas compare equal. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v)
            .filter(([k]) => k !== 'description' && k !== 'title' && k !== 'examples')
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

const label = (at: string) => (at === '' ? 'the value' : `"${at}"`);
const typeList = (t: Set<string>) => [...t].sort().join(' | ');

/** Whether type set `a` accepts everything `b` does (integer ⊂ number, everything ⊂ any). */
function covers(a: Set<string>, b: Set<string>): boolean {
  if (a.has('any')) return true;
  for (const t of b) {
    if (a.has(t)) continue;
    if (t === 'integer' && a.has('number')) continue;
    return false;
  }
  return true;
}

function compare(oldRaw: JsonSchema, newRaw: JsonSchema, at: string, out: SchemaChange[]): void {
  if (canonical(oldRaw) === canonical(newRaw)) return;
  const o = normalize(oldRaw);
  const n = normalize(newRaw);

  if (o.nullable !== n.nullable) {
    out.push({
      kind: n.nullable ? 'nullable-added' : 'nullable-removed',
      at,
      detail: n.nullable ? `${label(at)} may now be null` : `${label(at)} may no longer be null`,
      effect: n.nullable ? 'widened' : 'narrowed',
    });
  }

  if (o.union || n.union) {
    compareUnions(o, n, at, out);
    return;
  }

  const oTag = o.schema[SUPERJSON_KEY];
  const nTag = n.schema[SUPERJSON_KEY];
  if ((oTag || nTag) && oTag !== nTag) {
    out.push({
      kind: 'superjson-type-changed',
      at,
      detail: `${label(at)} changed from ${typeList(o.types)} to ${typeList(n.types)}`,
      effect: 'changed',
    });
    return;
  }

  const sameTypes = covers(o.types, n.types) && covers(n.types, o.types);
  if (!sameTypes) {
    const wider = covers(n.types, o.types);
    const narrower = covers(o.types, n.types);
    out.push({
      kind: wider ? 'type-widened' : narrower ? 'type-narrowed' : 'type-changed',
      at,
      detail: `${label(at)} changed from ${typeList(o.types)} to ${typeList(n.types)}`,
      effect: wider ? 'widened' : narrower ? 'narrowed' : 'changed',
    });
    if (!wider && !narrower) return;
  }

  compareValues(o, n, at, out);
  compareConstraints(o.schema, n.schema, at, out);

  const oDefault = o.schema.default;
  const nDefault = n.schema.default;
  if (canonical(oDefault) !== canonical(nDefault)) {
    out.push({
      kind: 'default-changed',
      at,
      detail: `default of ${label(at)} changed from ${show(oDefault)} to ${show(nDefault)}`,
      effect: 'none',
    });
  }

  if (o.types.has('object') && n.types.has('object')) compareObjects(o.schema, n.schema, at, out);
  if (o.types.has('array') || o.types.has('Set') || o.types.has('Map')) {
    compareArrays(o.schema, n.schema, at, out);
  }
}

function show(v: unknown): string {
  return v === undefined ? 'none' : JSON.stringify(v);
}

function compareUnions(o: Node, n: Node, at: string, out: SchemaChange[]): void {
  const oMembers = o.union ?? new Map([[canonical(stripNull(o.schema)), o.schema]]);
  const nMembers = n.union ?? new Map([[canonical(stripNull(n.schema)), n.schema]]);
  for (const key of nMembers.keys()) {
    if (!oMembers.has(key)) {
      out.push({
        kind: 'union-member-added',
        at,
        detail: `${label(at)} may now also be ${describe(nMembers.get(key)!)}`,
        effect: 'widened',
      });
    }
  }
  for (const key of oMembers.keys()) {
    if (!nMembers.has(key)) {
      out.push({
        kind: 'union-member-removed',
        at,
        detail: `${label(at)} may no longer be ${describe(oMembers.get(key)!)}`,
        effect: 'narrowed',
      });
    }
  }
}

function stripNull(s: JsonSchema): JsonSchema {
  if (Array.isArray(s.type)) {
    const rest = s.type.filter((t) => t !== 'null');
    return { ...s, type: rest.length === 1 ? rest[0] : rest };
  }
  return s;
}

function describe(s: JsonSchema): string {
  const text = canonical(s);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function compareValues(o: Node, n: Node, at: string, out: SchemaChange[]): void {
  if (!o.values && !n.values) return;
  if (o.values && !n.values) {
    out.push({
      kind: 'constraint-loosened',
      at,
      detail: `${label(at)} is no longer limited to ${[...o.values].join(', ')}`,
      effect: 'widened',
    });
    return;
  }
  if (!o.values && n.values) {
    out.push({
      kind: 'constraint-tightened',
      at,
      detail: `${label(at)} is now limited to ${[...n.values].join(', ')}`,
      effect: 'narrowed',
    });
    return;
  }
  const added = [...n.values!].filter((v) => !o.values!.has(v));
  const removed = [...o.values!].filter((v) => !n.values!.has(v));
  if (added.length) {
    out.push({
      kind: 'enum-value-added',
      at,
      detail: `${label(at)} gained ${added.join(', ')}`,
      effect: 'widened',
    });
  }
  if (removed.length) {
    out.push({
      kind: 'enum-value-removed',
      at,
      detail: `${label(at)} lost ${removed.join(', ')}`,
      effect: 'narrowed',
    });
  }
}

function compareConstraints(o: JsonSchema, n: JsonSchema, at: string, out: SchemaChange[]): void {
  const bound = (key: string, lower: boolean) => {
    const a = o[key] as number | undefined;
    const b = n[key] as number | undefined;
    if (a === b) return;
    // A new or raised lower bound, or a new or lowered upper bound, accepts fewer values.
    const tighter =
      a === undefined ? true : b === undefined ? false : lower ? (b as number) > a : (b as number) < a;
    out.push({
      kind: tighter ? 'constraint-tightened' : 'constraint-loosened',
      at,
      detail: `${key} of ${label(at)} changed from ${show(a)} to ${show(b)}`,
      effect: tighter ? 'narrowed' : 'widened',
    });
  };
  for (const key of LOWER_BOUNDS) bound(key, true);
  for (const key of UPPER_BOUNDS) bound(key, false);
  for (const key of EXACT_CONSTRAINTS) {
    const a = o[key];
    const b = n[key];
    if (canonical(a) === canonical(b)) continue;
    if (key === 'uniqueItems' && !a !== !b) {
      out.push({
        kind: b ? 'constraint-tightened' : 'constraint-loosened',
        at,
        detail: `${label(at)} ${b ? 'must now' : 'need no longer'} have unique items`,
        effect: b ? 'narrowed' : 'widened',
      });
      continue;
    }
    const kind =
      a === undefined
        ? 'constraint-tightened'
        : b === undefined
          ? 'constraint-loosened'
          : 'constraint-changed';
    out.push({
      kind,
      at,
      detail: `${key} of ${label(at)} changed from ${show(a)} to ${show(b)}`,
      effect:
        kind === 'constraint-tightened' ? 'narrowed' : kind === 'constraint-loosened' ? 'widened' : 'changed',
    });
  }
}

function compareObjects(o: JsonSchema, n: JsonSchema, at: string, out: SchemaChange[]): void {
  const oProps = (o.properties ?? {}) as Record<string, JsonSchema>;
  const nProps = (n.properties ?? {}) as Record<string, JsonSchema>;
  const oReq = new Set((o.required ?? []) as string[]);
  const nReq = new Set((n.required ?? []) as string[]);
  const child = (key: string) => (at === '' ? key : `${at}.${key}`);
  for (const key of Object.keys(nProps)) {
    if (Object.hasOwn(oProps, key)) continue;
    const required = nReq.has(key);
    out.push({
      kind: required ? 'field-added-required' : 'field-added-optional',
      at: child(key),
      detail: `${required ? 'required' : 'optional'} field "${child(key)}" added`,
      effect: required ? 'narrowed' : 'widened',
    });
  }
  for (const key of Object.keys(oProps)) {
    if (Object.hasOwn(nProps, key)) continue;
    out.push({
      kind: 'field-removed',
      at: child(key),
      detail: `${oReq.has(key) ? 'required' : 'optional'} field "${child(key)}" removed`,
      // Whether this widens depends on strictness and flow; diffContracts decides.
      effect: oReq.has(key) ? 'widened' : 'none',
    });
  }
  for (const key of Object.keys(oProps)) {
    if (!Object.hasOwn(nProps, key)) continue;
    if (oReq.has(key) && !nReq.has(key)) {
      out.push({
        kind: 'field-became-optional',
        at: child(key),
        detail: `field "${child(key)}" became optional`,
        effect: 'widened',
      });
    } else if (!oReq.has(key) && nReq.has(key)) {
      out.push({
        kind: 'field-became-required',
        at: child(key),
        detail: `field "${child(key)}" became required`,
        effect: 'narrowed',
      });
    }
    compare(oProps[key]!, nProps[key]!, child(key), out);
  }
  const oStrict = o.additionalProperties === false;
  const nStrict = n.additionalProperties === false;
  if (oStrict !== nStrict) {
    out.push({
      kind: nStrict ? 'object-became-strict' : 'object-became-open',
      at,
      detail: nStrict ? `${label(at)} now refuses unknown fields` : `${label(at)} now accepts unknown fields`,
      effect: nStrict ? 'narrowed' : 'widened',
    });
  }
  const oExtra = o.additionalProperties;
  const nExtra = n.additionalProperties;
  if (isSchema(oExtra) && isSchema(nExtra)) compare(oExtra, nExtra, `${at}{}`, out);
}

function isSchema(v: unknown): v is JsonSchema {
  return typeof v === 'object' && v !== null;
}

function compareArrays(o: JsonSchema, n: JsonSchema, at: string, out: SchemaChange[]): void {
  if (isSchema(o.items) && isSchema(n.items)) compare(o.items, n.items, `${at}[]`, out);
  const oTuple = o.prefixItems as JsonSchema[] | undefined;
  const nTuple = n.prefixItems as JsonSchema[] | undefined;
  if (Array.isArray(oTuple) && Array.isArray(nTuple)) {
    for (let i = 0; i < Math.min(oTuple.length, nTuple.length); i++) {
      compare(oTuple[i]!, nTuple[i]!, `${at}[${i}]`, out);
    }
  }
}
