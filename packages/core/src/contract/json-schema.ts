import { z } from 'zod';

/** A JSON Schema (draft 2020-12) object, as zod 4 produces it. */
export type JsonSchema = { [key: string]: unknown };

/**
 * The superjson types Corbel carries on the wire, and how they look in the
 * `json` half of a superjson value. Each is tagged `x-superjson` so docs, the
 * diff and other-language clients know to revive it from the `meta` half.
 */
export type SuperjsonType = 'Date' | 'Map' | 'Set' | 'bigint' | 'undefined' | 'RegExp' | 'URL';

/** The key that tags a superjson type in an exported schema. */
export const SUPERJSON_KEY = 'x-superjson';

/**
 * Converts a zod schema to JSON Schema with zod 4's own `z.toJSONSchema`, as
 * the value looks after superjson on the wire: Date is an ISO-8601 string,
 * BigInt a decimal string, Map an array of [key, value] pairs, Set an array of
 * unique items — each tagged `x-superjson` instead of collapsing to `{}`.
 *
 * @example
 * toJsonSchema(z.object({ at: z.date() }), 'output');
 * // { type: 'object', properties: { at: { type: 'string', format: 'date-time', 'x-superjson': 'Date' } }, … }
 */
export function toJsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const convert = (s: z.ZodType): JsonSchema => {
    const out = z.toJSONSchema(s, {
      io,
      target: 'draft-2020-12',
      reused: 'inline',
      cycles: 'ref',
      unrepresentable: ({ zodSchema }) => superjsonSchema(zodSchema as any, convert) ?? 'any',
    }) as JsonSchema;
    delete out.$schema;
    return out;
  };
  return convert(schema);
}

/** The JSON Schema of a superjson-carried zod type, or undefined for other types. */
function superjsonSchema(schema: any, convert: (s: z.ZodType) => JsonSchema): JsonSchema | undefined {
  const def = schema?._zod?.def;
  switch (def?.type) {
    case 'date':
      return { type: 'string', format: 'date-time', [SUPERJSON_KEY]: 'Date' };
    case 'bigint':
      return { type: 'string', pattern: '^-?[0-9]+$', [SUPERJSON_KEY]: 'bigint' };
    case 'map':
      return {
        type: 'array',
        items: {
          type: 'array',
          prefixItems: [convert(def.keyType), convert(def.valueType)],
          minItems: 2,
          maxItems: 2,
        },
        [SUPERJSON_KEY]: 'Map',
      };
    case 'set':
      return { type: 'array', uniqueItems: true, items: convert(def.valueType), [SUPERJSON_KEY]: 'Set' };
    case 'undefined':
      return { not: {}, [SUPERJSON_KEY]: 'undefined' };
    default:
      return undefined;
  }
}
