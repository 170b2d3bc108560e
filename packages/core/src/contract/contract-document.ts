import type { JsonSchema } from './json-schema.js';

/** The format tag of a contract document; bumped on incompatible changes to the document itself. */
export const CONTRACT_FORMAT = 'corbel.contract/1';

export type ProcedureKind = 'query' | 'mutation' | 'subscription';

/** The events a subscription delivers. */
export interface ContractEvents {
  /** The hub channel the events come from, when known. */
  channel: string | null;
  /** JSON Schema of each event's payload (`data`), or null when the service did not declare it. */
  payload: JsonSchema | null;
  /** Events carry ids (`tracked`) and the stream resumes after `lastEventId` / `Last-Event-ID`. */
  resumable: boolean;
}

/** One command (query, mutation) or event channel (subscription). */
export interface ContractProcedure {
  /** The dotted path, e.g. "weather.report"; the URL is `<basePath>/<path>`. */
  path: string;
  kind: ProcedureKind;
  description: string | null;
  /** JSON Schema of the input (before superjson), or null when the procedure takes none. */
  input: JsonSchema | null;
  /** JSON Schema of a command's result, or null when undeclared (and always for subscriptions). */
  output: JsonSchema | null;
  /** For subscriptions: the events they deliver. */
  events?: ContractEvents | undefined;
  /** Example inputs, from `.meta({ examples })` on the procedure. */
  examples?: unknown[] | undefined;
}

/**
 * A service's contract as data: what Corbel's IDL is. Stable key order and
 * procedures sorted by path, so the committed JSON diffs cleanly.
 */
export interface ContractDocument {
  format: typeof CONTRACT_FORMAT;
  service: string;
  description: string | null;
  /** Where the procedures are mounted. */
  basePath: string;
  /** The wire encoding of inputs, results and events. */
  transformer: 'superjson';
  procedures: ContractProcedure[];
}

/**
 * Checks that `value` is a contract document (after `JSON.parse`), throwing a
 * TypeError that says what is wrong.
 *
 * @example
 * const doc = parseContract(JSON.parse(readFileSync('weather.contract.json', 'utf8')));
 */
export function parseContract(value: unknown): ContractDocument {
  const doc = value as Partial<ContractDocument> | null;
  if (typeof doc !== 'object' || doc === null) throw new TypeError('a contract must be a JSON object');
  if (doc.format !== CONTRACT_FORMAT) {
    throw new TypeError(
      `not a Corbel contract: "format" is ${JSON.stringify(doc.format)}, expected "${CONTRACT_FORMAT}"`,
    );
  }
  if (typeof doc.service !== 'string') throw new TypeError('a contract needs a "service" name');
  if (!Array.isArray(doc.procedures)) throw new TypeError('a contract needs a "procedures" array');
  for (const [i, p] of doc.procedures.entries()) {
    if (typeof p?.path !== 'string') throw new TypeError(`procedures[${i}] has no "path"`);
    if (!['query', 'mutation', 'subscription'].includes(p.kind)) {
      throw new TypeError(`procedures[${i}] (${p.path}) has an unknown kind ${JSON.stringify(p.kind)}`);
    }
  }
  return doc as ContractDocument;
}
