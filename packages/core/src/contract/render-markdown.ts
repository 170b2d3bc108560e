import superjson from 'superjson';
import { CORBEL_ERROR_CODES } from '../errors.js';
import type { ContractDocument, ContractProcedure } from './contract-document.js';
import { type JsonSchema, SUPERJSON_KEY } from './json-schema.js';
import { sampleValue } from './sample-value.js';

export interface RenderOptions {
  /** Relative link from the generated page to protocol.md (default "../protocol.md"). */
  protocolLink?: string | undefined;
  /** The command that regenerates the page, named in its header (default "npm run docs"). */
  generator?: string | undefined;
}

/**
 * Renders a contract as a human-readable page: every command and event
 * channel with its input, output, an example request on the wire, and the
 * errors it can answer.
 *
 * @example
 * writeFileSync('proto-docs/services/weather.md', renderContractMarkdown(contract));
 */
export function renderContractMarkdown(doc: ContractDocument, opts: RenderOptions = {}): string {
  const protocol = opts.protocolLink ?? '../protocol.md';
  const lines: string[] = [];
  const commands = doc.procedures.filter((p) => p.kind !== 'subscription');
  const channels = doc.procedures.filter((p) => p.kind === 'subscription');
  lines.push(`# The \`${doc.service}\` service`, '');
  lines.push(
    `<!-- Generated from the router by \`${opts.generator ?? 'npm run docs'}\`; do not edit by hand. -->`,
    '',
  );
  if (doc.description) lines.push(doc.description, '');
  lines.push(
    `Procedures are mounted at \`${doc.basePath}\`; inputs, results and events travel as superjson ` +
      `(see [the wire protocol](${protocol})). The machine-readable contract is ` +
      `[\`${doc.service}.contract.json\`](${doc.service}.contract.json) (format \`${doc.format}\`).`,
    '',
  );
  lines.push('| procedure | kind | what it does |', '| --- | --- | --- |');
  for (const p of doc.procedures) {
    lines.push(`| [\`${p.path}\`](#${anchor(p.path)}) | ${p.kind} | ${cell(p.description ?? '')} |`);
  }
  lines.push('');
  if (commands.length) {
    lines.push('## Commands', '');
    for (const p of commands) renderCommand(p, doc, lines);
  }
  if (channels.length) {
    lines.push('## Event channels', '');
    for (const p of channels) renderChannel(p, doc, lines);
  }
  return `${lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

function anchor(path: string): string {
  return path.toLowerCase().replace(/[^a-z0-9 -]/g, '');
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function renderCommand(p: ContractProcedure, doc: ContractDocument, lines: string[]): void {
  lines.push(`### ${p.path}`, '');
  lines.push(`**${p.kind}** — \`${p.kind === 'query' ? 'GET' : 'POST'} ${doc.basePath}/${p.path}\``, '');
  if (p.description) lines.push(p.description, '');
  lines.push('**Input**', '');
  renderSchema(p.input, lines, 'no input');
  lines.push('**Result**', '');
  renderSchema(p.output, lines, 'not declared');
  const input = p.examples?.[0] ?? sampleValue(p.input);
  const encoded = p.input ? JSON.stringify(superjson.serialize(input)) : undefined;
  lines.push('**Example**', '', '```http');
  if (p.kind === 'query') {
    lines.push(
      `GET ${doc.basePath}/${p.path}${encoded ? `?input=${encodeURIComponent(encoded)}` : ''}`,
      '```',
      '',
    );
    if (encoded) lines.push(`where \`input\` is \`${encoded}\`.`, '');
  } else {
    lines.push(`POST ${doc.basePath}/${p.path}`, 'content-type: application/json', '');
    lines.push(encoded ?? '', '```', '');
  }
  if (p.output) {
    const result = JSON.stringify({ result: { data: superjson.serialize(sampleValue(p.output)) } });
    lines.push('answers `200` with', '', '```json', result, '```', '');
  }
  renderErrors(p, lines);
}

function renderChannel(p: ContractProcedure, doc: ContractDocument, lines: string[]): void {
  const events = p.events;
  lines.push(`### ${p.path}`, '');
  lines.push(`**subscription** — \`GET ${doc.basePath}/${p.path}\` as \`text/event-stream\``, '');
  if (p.description) lines.push(p.description, '');
  if (events?.channel) lines.push(`Fed from the hub channel \`${events.channel}\`.`, '');
  lines.push(
    events?.resumable
      ? 'Resumable: every event carries an `id:`; reconnect with `Last-Event-ID: <id>` (or `lastEventId` in the input) to receive exactly the events after it.'
      : 'Not resumable: events carry no id, and a reconnecting client receives only new events.',
    '',
  );
  lines.push('**Input**', '');
  renderSchema(p.input, lines, 'no input');
  lines.push('**Event payload** (the `data:` of each frame)', '');
  renderSchema(events?.payload ?? null, lines, 'not declared');
  const input = p.examples?.[0] ?? sampleValue(p.input);
  const encoded = p.input ? JSON.stringify(superjson.serialize(input)) : undefined;
  const payload = JSON.stringify(superjson.serialize(sampleValue(events?.payload)));
  lines.push('**Example**', '', '```http');
  lines.push(`GET ${doc.basePath}/${p.path}${encoded ? `?input=${encodeURIComponent(encoded)}` : ''}`);
  lines.push('accept: text/event-stream', '```', '');
  lines.push('answers `200` and then, one frame per event:', '', '```text');
  lines.push('retry: 1000', 'event: connected', 'data: {"reconnectAfterInactivityMs":25000}', '');
  lines.push(`${events?.resumable ? 'id: 4c1d2e3f-1\n' : ''}data: ${payload}`, '');
  lines.push('event: ping', 'data: ', '```', '');
  renderErrors(p, lines);
}

function renderErrors(p: ContractProcedure, lines: string[]): void {
  const rows: [string, string, string][] = [];
  if (p.input)
    rows.push([
      '400',
      'BAD_REQUEST',
      'the input is not valid JSON or fails the schema (`data.issues` names each field)',
    ]);
  rows.push(['401', 'UNAUTHORIZED', 'the server requires a token and none (or a wrong one) was sent']);
  rows.push(['403', 'FORBIDDEN', 'the caller is authenticated but not allowed to call this']);
  if (p.kind === 'subscription' && p.events?.resumable) {
    rows.push(['400', 'BAD_REQUEST / INVALID_EVENT_ID', CORBEL_ERROR_CODES.INVALID_EVENT_ID.doc]);
    rows.push(['412', 'PRECONDITION_FAILED / HISTORY_GONE', CORBEL_ERROR_CODES.HISTORY_GONE.doc]);
    rows.push(['in stream', 'SERVICE_UNAVAILABLE / SLOW_CONSUMER', CORBEL_ERROR_CODES.SLOW_CONSUMER.doc]);
  }
  rows.push([
    p.kind === 'subscription' ? '503 or in stream' : '503',
    'SERVICE_UNAVAILABLE / DRAINING',
    CORBEL_ERROR_CODES.DRAINING.doc,
  ]);
  lines.push('**Errors**', '', '| status | code / Corbel code | when |', '| --- | --- | --- |');
  for (const [status, code, when] of rows) lines.push(`| ${status} | \`${code}\` | ${cell(when)} |`);
  lines.push('');
}

/** A field table for objects, one line for anything else. */
function renderSchema(schema: JsonSchema | null, lines: string[], none: string): void {
  if (!schema) {
    lines.push(`_${none}_`, '');
    return;
  }
  const { inner, nullable } = unwrapNullable(schema);
  if (inner.type === 'object' && inner.properties) {
    if (nullable) lines.push('An object, or `null`:', '');
    lines.push('| field | type | required | description |', '| --- | --- | --- | --- |');
    for (const row of fieldRows(inner, '')) lines.push(row);
    lines.push('');
    return;
  }
  lines.push(`\`${typeOf(schema)}\`${schema.description ? ` — ${schema.description}` : ''}`, '');
}

function fieldRows(schema: JsonSchema, prefix: string): string[] {
  const rows: string[] = [];
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  for (const [key, prop] of Object.entries(props)) {
    const name = `${prefix}${key}`;
    rows.push(
      `| \`${name}\` | ${cell(`\`${typeOf(prop)}\``)} | ${required.has(key) ? 'yes' : 'no'} | ${cell(String(prop.description ?? ''))} |`,
    );
    const { inner } = unwrapNullable(prop);
    if (inner.type === 'object' && inner.properties) rows.push(...fieldRows(inner, `${name}.`));
  }
  return rows;
}

function unwrapNullable(schema: JsonSchema): { inner: JsonSchema; nullable: boolean } {
  const union = schema.anyOf as JsonSchema[] | undefined;
  if (Array.isArray(union)) {
    const rest = union.filter((m) => m.type !== 'null');
    if (rest.length === 1 && rest.length < union.length) return { inner: rest[0]!, nullable: true };
  }
  return { inner: schema, nullable: false };
}

/** A compact type expression: `string (1..100 chars)`, `Date | null`, `"a" | "b"`. */
export function typeOf(schema: JsonSchema): string {
  const union = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(union)) return union.map(typeOf).join(' | ');
  const tag = schema[SUPERJSON_KEY];
  if (typeof tag === 'string') {
    if (tag === 'Map') {
      const pair = (schema.items as JsonSchema | undefined)?.prefixItems as JsonSchema[] | undefined;
      return pair ? `Map<${typeOf(pair[0]!)}, ${typeOf(pair[1]!)}>` : 'Map';
    }
    if (tag === 'Set') return `Set<${typeOf((schema.items ?? {}) as JsonSchema)}>`;
    return tag;
  }
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  const base = types.length === 0 ? 'any' : types.map(String).join(' | ');
  const bounds: string[] = [];
  if (base.startsWith('string')) {
    const lo = schema.minLength as number | undefined;
    const hi = schema.maxLength as number | undefined;
    if (lo !== undefined || hi !== undefined) bounds.push(`${lo ?? 0}..${hi ?? '∞'} chars`);
    if (schema.format) bounds.push(String(schema.format));
    if (schema.pattern) bounds.push(`/${schema.pattern}/`);
  } else if (base.startsWith('number') || base.startsWith('integer')) {
    const lo = (schema.minimum ?? schema.exclusiveMinimum) as number | undefined;
    const hi = (schema.maximum ?? schema.exclusiveMaximum) as number | undefined;
    if (lo !== undefined || hi !== undefined) bounds.push(`${lo ?? '-∞'}..${hi ?? '∞'}`);
  } else if (base.startsWith('array')) {
    return `${typeOf((schema.items ?? {}) as JsonSchema)}[]`;
  } else if (base === 'object' && schema.properties) {
    // Discriminants (const fields) are shown with their value: { type: "done", result, … }.
    const keys = Object.entries(schema.properties as Record<string, JsonSchema>).map(([k, v]) =>
      v.const !== undefined ? `${k}: ${JSON.stringify(v.const)}` : k,
    );
    return `{ ${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', …' : ''} }`;
  }
  return bounds.length ? `${base} (${bounds.join(', ')})` : base;
}
