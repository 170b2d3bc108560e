import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CORBEL_ERROR_CODES, CorbelError } from '@corbel/core';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import { describe, expect, it } from 'vitest';

const protocol = readFileSync(join(import.meta.dirname, '..', '..', 'proto-docs', 'protocol.md'), 'utf8');

/** The rows of the markdown table between `<!-- name:start -->` and `<!-- name:end -->`. */
function table(name: string): string[][] {
  const start = protocol.indexOf(`<!-- ${name}:start -->`);
  const end = protocol.indexOf(`<!-- ${name}:end -->`);
  expect(start, `protocol.md has no ${name} table`).toBeGreaterThan(-1);
  return protocol
    .slice(start, end)
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2) // header and separator
    .map((line) =>
      line
        .slice(1, -1)
        .split(' | ')
        .map((c) => c.trim()),
    );
}

describe('proto-docs/protocol.md error tables', () => {
  it('lists every Corbel code exactly as CORBEL_ERROR_CODES has it', () => {
    const documented = table('corbel-codes').map(([code, trpc, status, retryable, doc]) => ({
      code,
      trpc,
      status: Number(status),
      retryable: retryable === 'yes',
      doc,
    }));
    const actual = Object.entries(CORBEL_ERROR_CODES).map(([code, entry]) => ({
      code,
      trpc: entry.trpc,
      status: getHTTPStatusCodeFromError(new CorbelError(code as keyof typeof CORBEL_ERROR_CODES, 'x')),
      retryable: entry.retryable,
      doc: entry.doc,
    }));
    expect(documented).toEqual(actual);
  });

  it('lists every tRPC code with its JSON-RPC code and HTTP status', () => {
    const documented = table('trpc-codes').map(([code, rpc, status]) => [code, Number(rpc), Number(status)]);
    const actual = Object.entries(TRPC_ERROR_CODES_BY_KEY).map(([code, rpc]) => [
      code,
      rpc,
      getHTTPStatusCodeFromError(new TRPCError({ code: code as any })),
    ]);
    expect(documented).toEqual(actual);
  });
});
