import type { AnyTRPCRouter } from '@trpc/server';
import { initCorbel } from '../init.js';
import { adoptRouterConfig, routerRecord } from '../trpc-def.js';
import type { ContractDocument } from './contract-document.js';
import { type ContractSource, exportContract } from './export-contract.js';

/** The path of the contract query a service mounts with `withContract`. */
export const CONTRACT_PROCEDURE = 'corbel.contract';

/**
 * Adds a `corbel.contract` query to a router: it answers the service's own
 * contract document (including itself), so tools such as
 * `corbel contract export <url>` and `corbel call` can read what a running
 * server offers. It goes through the server's authentication like any
 * procedure. The document is built once, on first call.
 *
 * @example
 * const router = withContract(appRouter, { service: 'weather', events: { 'weather.readings': readingsChannel } });
 * createCorbelServer({ router });
 */
export function withContract<R extends AnyTRPCRouter>(router: R, source: Omit<ContractSource, 'router'>) {
  const t = initCorbel();
  let document: ContractDocument | undefined;
  const merged = t.router({
    ...routerRecord(router),
    corbel: t.router({
      contract: t.procedure
        .meta({ description: "This service's contract: every command and event channel, with schemas." })
        .query((): ContractDocument => {
          document ??= exportContract({ ...source, router: merged });
          return document;
        }),
    }),
  });
  // The merged root keeps the original root's configuration (transformer,
  // error formatter, SSE ping and timeouts), not this helper's defaults.
  adoptRouterConfig(merged, router);
  return merged;
}
