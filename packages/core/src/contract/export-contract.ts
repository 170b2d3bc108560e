import type { AnyTRPCRouter } from '@trpc/server';
import type { z } from 'zod';
import type { Channel } from '../channel.js';
import { isTrpcRouter, routerProcedures } from '../trpc-def.js';
import {
  CONTRACT_FORMAT,
  type ContractDocument,
  type ContractProcedure,
  type ProcedureKind,
} from './contract-document.js';
import { type JsonSchema, toJsonSchema } from './json-schema.js';

/** What a subscription delivers: a channel (its schema is the payload) or a bare zod schema. */
export type EventPayloadSource = Channel | z.ZodType;

/** Everything needed to export a service's contract. */
export interface ContractSource {
  /** The service's name: docs are written to `<service>.md` and `<service>.contract.json`. */
  service: string;
  router: AnyTRPCRouter;
  description?: string | undefined;
  basePath?: string | undefined;
  /**
   * The payload of each subscription, by path. A subscription may also name
   * it in its own meta: `.meta({ channel: readingsChannel })`.
   */
  events?: Record<string, EventPayloadSource> | undefined;
}

/**
 * Exports a router's contract: every command and event channel with its kind,
 * input/output JSON Schema (zod 4's `z.toJSONSchema`, superjson types tagged),
 * descriptions from `.describe()`/`.meta()`, and whether its events resume.
 *
 * @example
 * const contract = exportContract({ service: 'weather', router, events: { 'weather.readings': readingsChannel } });
 * writeFileSync('weather.contract.json', JSON.stringify(contract, null, 2));
 */
export function exportContract(source: ContractSource): ContractDocument {
  if (!isTrpcRouter(source.router)) throw new TypeError('exportContract needs a tRPC router');
  const procedures = routerProcedures(source.router);
  const out: ContractProcedure[] = [];
  for (const path of Object.keys(procedures).sort()) {
    const def = procedures[path]?._def as any;
    if (!def) continue;
    const kind = def.type as ProcedureKind;
    const meta = (def.meta ?? {}) as Record<string, unknown>;
    const input = inputSchema(def.inputs ?? [], path);
    const procedure: ContractProcedure = {
      path,
      kind,
      description: typeof meta.description === 'string' ? meta.description : null,
      input,
      output: kind !== 'subscription' && def.output ? convert(def.output, 'output', path) : null,
    };
    if (kind === 'subscription') {
      const events = source.events?.[path] ?? (meta.channel as EventPayloadSource | undefined);
      const payload = events ? ('schema' in events && 'name' in events ? events.schema : events) : undefined;
      procedure.events = {
        channel: events && 'name' in events && typeof events.name === 'string' ? events.name : null,
        payload: payload ? convert(payload as z.ZodType, 'output', path) : null,
        // tRPC hands `lastEventId` to subscriptions whose input declares it.
        resumable: hasProperty(input, 'lastEventId'),
      };
    }
    if (Array.isArray(meta.examples)) procedure.examples = meta.examples;
    out.push(procedure);
  }
  return {
    format: CONTRACT_FORMAT,
    service: source.service,
    description: source.description ?? null,
    basePath: source.basePath ?? '/rpc',
    transformer: 'superjson',
    procedures: out,
  };
}

function inputSchema(inputs: unknown[], path: string): JsonSchema | null {
  if (inputs.length === 0) return null;
  if (inputs.length === 1) return convert(inputs[0] as z.ZodType, 'input', path);
  // Chained .input() calls merge their objects.
  return { allOf: inputs.map((s) => convert(s as z.ZodType, 'input', path)) };
}

function convert(schema: z.ZodType, io: 'input' | 'output', path: string): JsonSchema {
  if (typeof (schema as any)?._zod !== 'object') {
    throw new TypeError(`${path}: the ${io} parser is not a zod 4 schema, so it cannot be exported`);
  }
  return toJsonSchema(schema, io);
}

function hasProperty(schema: JsonSchema | null, name: string): boolean {
  if (!schema) return false;
  const props = schema.properties as Record<string, unknown> | undefined;
  if (props && Object.hasOwn(props, name)) return true;
  return Array.isArray(schema.allOf) && schema.allOf.some((s) => hasProperty(s as JsonSchema, name));
}
