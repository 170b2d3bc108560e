import { existsSync, readFileSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type ContractDocument,
  type ContractSource,
  exportContract,
  parseContract,
} from '@corbel/core/contract';
import { isTrpcRouter as isRouter } from '@corbel/core/internal';
import { classifyError } from './classify-error.js';
import { connect } from './connection.js';
import { CliError, EXIT } from './exit-codes.js';
import { parseJsonInput } from './json-input.js';
import { fetchServedContract } from './procedure-kind.js';
import { enableTypeScript, isTypeScriptFile } from './typescript-modules.js';

export interface LoadOptions {
  /** The service name when the module exports a bare router. */
  service?: string | undefined;
  token?: string | undefined;
  ca?: string | undefined;
}

/**
 * A contract from a contract JSON file, a module (exporting `contractSource`,
 * a default ContractSource, or a router), or a URL serving a contract JSON
 * document.
 *
 * @example
 * const contract = await loadContract('apps/weather/src/contract.ts');
 */
export async function loadContract(spec: string, opts: LoadOptions = {}): Promise<ContractDocument> {
  if (/^https?:\/\//.test(spec)) return fetchContract(spec, opts);
  if (extname(spec) === '.json') {
    let text: string;
    try {
      text = readFileSync(spec, 'utf8');
    } catch (error) {
      throw new CliError(EXIT.USAGE, 'usage', `cannot read ${spec}: ${(error as Error).message}`);
    }
    return asContract(parseJsonInput(text, spec), spec);
  }
  return exportContract(await loadSource(spec, opts));
}

/** The ContractSource a module exports. */
export async function loadSource(spec: string, opts: LoadOptions = {}): Promise<ContractSource> {
  const file = resolve(spec);
  let mod: Record<string, unknown>;
  if (isTypeScriptFile(file) && existsSync(file)) await enableTypeScript(file, spec);
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(file)) {
      throw new CliError(EXIT.USAGE, 'usage', `no module at ${spec}`);
    }
    throw new CliError(EXIT.USAGE, 'usage', `cannot load ${spec}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const candidates = [mod.contractSource, mod.default, ...Object.values(mod)];
  const source = candidates.find(isSource);
  if (source) return opts.service ? { ...source, service: opts.service } : source;
  const router = candidates.find(isRouter);
  if (router) {
    return {
      service: opts.service ?? basename(file, extname(file)),
      router: router as ContractSource['router'],
    };
  }
  throw new CliError(
    EXIT.USAGE,
    'usage',
    `${spec} exports no contract source: export \`contractSource = { service, router, events }\` (or a router)`,
  );
}

function isSource(value: unknown): value is ContractSource {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ContractSource).service === 'string' &&
    isRouter((value as ContractSource).router)
  );
}

async function fetchContract(url: string, opts: LoadOptions): Promise<ContractDocument> {
  const conn = connect(url, opts);
  // A Corbel server that mounts withContract answers corbel.contract; anything else may serve a document.
  const served = await fetchServedContract(conn);
  if (served) return asContract(served, url);
  let res: Response;
  try {
    res = await conn.fetch(url, { headers: { ...conn.headers, accept: 'application/json' } });
  } catch (error) {
    throw classifyError(error, { url });
  }
  if (res.status === 401 || res.status === 403) {
    throw new CliError(
      EXIT.AUTH,
      'not authenticated',
      `${url} answered ${res.status} (pass --token or set CORBEL_TOKEN)`,
    );
  }
  const text = await res.text();
  if (!res.ok) throw new CliError(EXIT.SERVER_ERROR, 'server error', `${url} answered ${res.status}`);
  return asContract(parseJsonInput(text, url), url);
}

function asContract(value: unknown, where: string): ContractDocument {
  try {
    return parseContract(value);
  } catch (error) {
    throw new CliError(EXIT.USAGE, 'usage', `${where}: ${(error as Error).message}`);
  }
}
