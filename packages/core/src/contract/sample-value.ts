import { type JsonSchema, SUPERJSON_KEY } from './json-schema.js';

const FIXED_DATE = new Date('2026-01-01T12:00:00.000Z');

/**
 * A small, deterministic value that satisfies a schema (as far as docs need):
 * the first example or enum value, otherwise the simplest value inside the
 * bounds. Superjson types come back as themselves (Date, Map, Set, bigint).
 *
 * @example
 * sampleValue({ type: 'number', minimum: 5 }); // 5
 */
export function sampleValue(schema: JsonSchema | null | undefined, depth = 0): unknown {
  if (!schema || depth > 6) return undefined;
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if (schema.default !== undefined) return schema.default;
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  const union = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(union)) {
    const first = union.find((m) => m.type !== 'null') ?? union[0];
    return sampleValue(first, depth + 1);
  }
  if (Array.isArray(schema.allOf)) {
    return Object.assign({}, ...schema.allOf.map((s) => sampleValue(s as JsonSchema, depth + 1)));
  }
  switch (schema[SUPERJSON_KEY]) {
    case 'Date':
      // A fresh object each time: a shared one would make superjson add referentialEqualities.
      return new Date(FIXED_DATE);
    case 'bigint':
      return 1n;
    case 'Map':
      return new Map();
    case 'Set':
      return new Set();
    case 'undefined':
      return undefined;
  }
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'string': {
      const min = Number(schema.minLength ?? 0);
      if (schema.format === 'date-time') return FIXED_DATE.toISOString();
      if (schema.format === 'email') return 'someone@example.com';
      if (schema.format === 'uuid') return '00000000-0000-4000-8000-000000000000';
      return 'text'.padEnd(Math.max(min, 4), 'x').slice(0, Math.max(4, min));
    }
    case 'number':
    case 'integer': {
      const lo = (schema.minimum ?? schema.exclusiveMinimum) as number | undefined;
      const hi = (schema.maximum ?? schema.exclusiveMaximum) as number | undefined;
      let v = 0;
      if (lo !== undefined && v <= lo) v = schema.exclusiveMinimum !== undefined ? lo + 1 : lo;
      if (hi !== undefined && v >= hi) v = schema.exclusiveMaximum !== undefined ? hi - 1 : hi;
      return type === 'integer' ? Math.round(v) : v;
    }
    case 'boolean':
      return false;
    case 'null':
      return null;
    case 'array': {
      const min = Number(schema.minItems ?? 0);
      return Array.from({ length: min }, () => sampleValue(schema.items as JsonSchema, depth + 1));
    }
    case 'object': {
      const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const required = new Set((schema.required ?? []) as string[]);
      const out: Record<string, unknown> = {};
      for (const [key, prop] of Object.entries(props)) {
        if (required.has(key)) out[key] = sampleValue(prop, depth + 1);
      }
      return out;
    }
    default:
      return {};
  }
}
