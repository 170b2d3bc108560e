import type { ContractDocument, ContractProcedure } from './contract-document.js';
import type { JsonSchema } from './json-schema.js';
import { diffSchemas, type Flow, type SchemaChange, type SchemaChangeKind } from './schema-diff.js';

/** Every kind of change the diff reports. */
export type ChangeKind =
  | 'procedure-removed'
  | 'procedure-added'
  | 'kind-changed'
  | 'base-path-changed'
  | 'resumable-removed'
  | 'resumable-added'
  | 'description-changed'
  | 'input-added'
  | 'input-removed'
  | 'output-declared'
  | 'output-undeclared'
  | 'event-payload-declared'
  | 'event-payload-undeclared'
  | 'channel-changed'
  | SchemaChangeKind;

/** Who a change breaks: clients built on the old contract, or new clients reaching servers not yet upgraded. */
export type Affected = 'old-clients' | 'new-clients-on-old-servers';

export interface ContractChange {
  kind: ChangeKind;
  /** The procedure path ("weather.report"), or "" for the service itself. */
  path: string;
  /** Where in the procedure: "input.city", "output.at", "event.celsius", "kind", … */
  at: string;
  severity: 'breaking' | 'compatible';
  /** Who it breaks (for breaking changes), or who should still take care (for compatible ones). */
  affects: Affected | null;
  /** One sentence: what changed and why it breaks whom (or why it does not). */
  reason: string;
}

export interface ContractDiff {
  changes: ContractChange[];
  breaking: number;
  compatible: number;
}

const REFUSED = 'the new server refuses calls they still make (400 BAD_REQUEST)';
const METHOD: Record<string, string> = { query: 'GET', mutation: 'POST', subscription: 'an event stream' };

/**
 * Compares two contracts from both sides — clients built on the old contract
 * calling a server on the new one, and new clients whose input reaches an old
 * server — and classifies every change as breaking or compatible. A change is
 * breaking when it breaks old clients on the new server; compatible changes
 * that new clients must not rely on before every server is upgraded say so.
 *
 * @example
 * const { changes, breaking } = diffContracts(oldContract, newContract);
 * for (const c of changes) console.log(formatChange(c));
 * process.exitCode = breaking > 0 ? 1 : 0;
 */
export function diffContracts(oldDoc: ContractDocument, newDoc: ContractDocument): ContractDiff {
  const changes: ContractChange[] = [];
  const push = (c: ContractChange) => changes.push(c);
  if (oldDoc.basePath !== newDoc.basePath) {
    push({
      kind: 'base-path-changed',
      path: '',
      at: 'basePath',
      severity: 'breaking',
      affects: 'old-clients',
      reason: `procedures moved from ${oldDoc.basePath} to ${newDoc.basePath} — breaks old clients: every URL they use answers 404`,
    });
  }
  const oldByPath = new Map(oldDoc.procedures.map((p) => [p.path, p]));
  const newByPath = new Map(newDoc.procedures.map((p) => [p.path, p]));
  for (const [path, o] of oldByPath) {
    const n = newByPath.get(path);
    if (!n) {
      push({
        kind: 'procedure-removed',
        path,
        at: '',
        severity: 'breaking',
        affects: 'old-clients',
        reason: `${o.kind} removed — breaks old clients: calling it now answers 404 NOT_FOUND`,
      });
      continue;
    }
    diffProcedure(o, n, push);
  }
  for (const [path, n] of newByPath) {
    if (oldByPath.has(path)) continue;
    push({
      kind: 'procedure-added',
      path,
      at: '',
      severity: 'compatible',
      affects: 'new-clients-on-old-servers',
      reason: `${n.kind} added — compatible: old clients never call it; new clients get 404 NOT_FOUND from servers not yet upgraded`,
    });
  }
  const breaking = changes.filter((c) => c.severity === 'breaking').length;
  return { changes, breaking, compatible: changes.length - breaking };
}

function diffProcedure(o: ContractProcedure, n: ContractProcedure, push: (c: ContractChange) => void): void {
  const path = o.path;
  if (o.kind !== n.kind) {
    push({
      kind: 'kind-changed',
      path,
      at: 'kind',
      severity: 'breaking',
      affects: 'old-clients',
      reason: `changed from ${o.kind} to ${n.kind} — breaks old clients: they call it with ${METHOD[o.kind]} and are refused (405 METHOD_NOT_SUPPORTED)`,
    });
    return;
  }
  if ((o.description ?? '') !== (n.description ?? '')) {
    push({
      kind: 'description-changed',
      path,
      at: 'description',
      severity: 'compatible',
      affects: null,
      reason: 'description changed — compatible: documentation only',
    });
  }

  // Input: values flow from clients into the server.
  if (o.input && !n.input) {
    push({
      kind: 'input-removed',
      path,
      at: 'input',
      severity: 'compatible',
      affects: null,
      reason: 'input removed — compatible: the new server ignores what old clients send',
    });
  } else if (!o.input && n.input) {
    push({
      kind: 'input-added',
      path,
      at: 'input',
      severity: 'breaking',
      affects: 'old-clients',
      reason: `input added — breaks old clients: they send none, so ${REFUSED}`,
    });
  } else if (o.input && n.input) {
    for (const c of diffSchemas(o.input, n.input)) push(classify(c, 'input', path, n.input));
  }

  // Output: values flow from the server to clients.
  if (o.kind !== 'subscription') {
    if (o.output && !n.output) {
      push({
        kind: 'output-undeclared',
        path,
        at: 'output',
        severity: 'breaking',
        affects: 'old-clients',
        reason:
          'output schema removed — breaks old clients: the result is no longer checked, so it may be anything',
      });
    } else if (!o.output && n.output) {
      push({
        kind: 'output-declared',
        path,
        at: 'output',
        severity: 'compatible',
        affects: null,
        reason: 'output schema declared — compatible: the result is now checked before it is sent',
      });
    } else if (o.output && n.output) {
      for (const c of diffSchemas(o.output, n.output)) push(classify(c, 'output', path, n.output));
    }
    return;
  }

  const oe = o.events;
  const ne = n.events;
  if (oe?.resumable && !ne?.resumable) {
    push({
      kind: 'resumable-removed',
      path,
      at: 'events.resumable',
      severity: 'breaking',
      affects: 'old-clients',
      reason:
        'events no longer resume by id — breaks old subscribers: after a disconnect they miss events instead of resuming',
    });
  } else if (!oe?.resumable && ne?.resumable) {
    push({
      kind: 'resumable-added',
      path,
      at: 'events.resumable',
      severity: 'compatible',
      affects: null,
      reason: 'events now resume by id — compatible: old subscribers simply do not use it',
    });
  }
  if ((oe?.channel ?? null) !== (ne?.channel ?? null)) {
    push({
      kind: 'channel-changed',
      path,
      at: 'events.channel',
      severity: 'compatible',
      affects: null,
      reason: `fed from channel ${ne?.channel ?? '(undeclared)'} instead of ${oe?.channel ?? '(undeclared)'} — compatible: the channel name is not on the wire`,
    });
  }
  if (oe?.payload && !ne?.payload) {
    push({
      kind: 'event-payload-undeclared',
      path,
      at: 'event',
      severity: 'breaking',
      affects: 'old-clients',
      reason: 'event payload schema removed — breaks old subscribers: events may now be anything',
    });
  } else if (!oe?.payload && ne?.payload) {
    push({
      kind: 'event-payload-declared',
      path,
      at: 'event',
      severity: 'compatible',
      affects: null,
      reason: 'event payload schema declared — compatible: documents what was already sent',
    });
  } else if (oe?.payload && ne?.payload) {
    for (const c of diffSchemas(oe.payload, ne.payload)) push(classify(c, 'event', path, ne.payload));
  }
}

/** Decides a schema change's severity from the way values flow through it, and says why. */
function classify(
  c: SchemaChange,
  where: 'input' | 'output' | 'event',
  path: string,
  newSchema: JsonSchema,
): ContractChange {
  const flow: Flow = where === 'input' ? 'input' : 'output';
  const at = c.at === '' ? where : `${where}.${c.at}`;
  const readers = where === 'event' ? 'old subscribers' : 'old clients';
  const base = { kind: c.kind, path, at };
  const breaking = (why: string): ContractChange => ({
    ...base,
    severity: 'breaking',
    affects: 'old-clients',
    reason: `${c.detail} — breaks ${readers}: ${why}`,
  });
  const compatible = (why: string, affects: Affected | null = null): ContractChange => ({
    ...base,
    severity: 'compatible',
    affects,
    reason: `${c.detail} — compatible: ${why}`,
  });

  if (flow === 'input') {
    if (c.kind === 'field-removed') {
      return objectAt(newSchema, c.at)?.additionalProperties === false
        ? breaking(`they still send it and the new server refuses unknown fields (400 BAD_REQUEST)`)
        : compatible('the new server ignores it when old clients send it');
    }
    if (c.kind === 'field-added-optional') {
      return compatible(
        'old clients need not send it; servers not yet upgraded ignore it when new clients do',
        'new-clients-on-old-servers',
      );
    }
    if (c.kind === 'default-changed') {
      return compatible('old clients that omit it get the new default', null);
    }
    if (c.kind === 'field-added-required') return breaking(`they do not send it, so ${REFUSED}`);
    if (c.kind === 'field-became-required') return breaking(`they may leave it out, so ${REFUSED}`);
    if (c.kind === 'nullable-removed') return breaking(`they may send null, so ${REFUSED}`);
    if (c.kind === 'enum-value-removed') return breaking(`they may send the removed value, so ${REFUSED}`);
    if (c.effect === 'narrowed' || c.effect === 'changed')
      return breaking(`some values they send are refused: ${REFUSED}`);
    if (c.effect === 'widened') {
      return compatible(
        'everything old clients send is still accepted; new clients must not rely on it until every server is upgraded (old servers answer 400)',
        'new-clients-on-old-servers',
      );
    }
    return compatible('no accepted value changes');
  }

  // Output and events: values flow out to clients.
  if (
    c.kind === 'field-added-required' ||
    c.kind === 'field-added-optional' ||
    c.kind === 'object-became-open'
  ) {
    return compatible(`${readers} ignore fields they do not know`);
  }
  if (c.kind === 'field-removed') {
    return c.effect === 'widened'
      ? breaking('they read a field the new server no longer sends')
      : compatible(`it was optional, so ${readers} already handle its absence`);
  }
  if (c.kind === 'default-changed') return compatible('defaults do not change what is sent');
  if (c.kind === 'field-became-optional')
    return breaking('they read it, and the new server may leave it out');
  if (c.kind === 'nullable-added') return breaking('they expect a value, and the new server may send null');
  if (c.kind === 'enum-value-added') return breaking('the new server may send a value they do not know');
  if (c.effect === 'widened' || c.effect === 'changed') {
    return breaking('the new server can send values they do not expect');
  }
  if (c.effect === 'narrowed') {
    return compatible(
      `the new server sends a subset of what ${readers} accept; new clients must still accept old servers' values`,
      'new-clients-on-old-servers',
    );
  }
  return compatible('no sent value changes');
}

/** The object schema at a dotted location (the parent of a field), for strictness checks. */
function objectAt(schema: JsonSchema, at: string): JsonSchema | undefined {
  const parts = at.split('.');
  parts.pop();
  let current: JsonSchema | undefined = schema;
  for (const part of parts) {
    const props = current?.properties as Record<string, JsonSchema> | undefined;
    current = props?.[part];
  }
  return current;
}

/**
 * One line per change, as the CLI prints it.
 *
 * @example
 * formatChange(diffContracts(oldContract, newContract).changes[0]!); // "BREAKING   weather.report  input.station: required field "station" added — breaks old clients: …"
 */
export function formatChange(c: ContractChange): string {
  const tag = c.severity === 'breaking' ? 'BREAKING  ' : 'compatible';
  const where = [c.path, c.at].filter(Boolean).join(' ');
  return `${tag} ${where}: ${c.reason}`;
}
