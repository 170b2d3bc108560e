/**
 * The one module that reads tRPC's router internals (`router._def`). tRPC's
 * own adapters read the same fields; nothing else in Corbel may, so a tRPC
 * upgrade that moves them shows here and in the wire-compatibility tests.
 */
import type { AnyTRPCRouter, TRPCProcedureType } from '@trpc/server';

/** What Corbel reads of one procedure's definition. */
export interface ProcedureDef {
  type: TRPCProcedureType;
  meta: Record<string, unknown> | undefined;
  /** The validators given to `.input()`, in order. */
  inputs: unknown[];
  /** The validator given to `.output()`, if any. */
  output: unknown;
}

/** A callable procedure, as tRPC's router holds it. */
export type ProcedureFn = ((opts: unknown) => Promise<unknown>) & { _def: ProcedureDef };

/** True for anything built by a tRPC router factory. */
export function isTrpcRouter(value: unknown): value is AnyTRPCRouter {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { _def?: { procedures?: unknown } })._def?.procedures === 'object'
  );
}

/** Every procedure of a router by its dotted path (lazy routers excluded until loaded). */
export function routerProcedures(router: AnyTRPCRouter): Record<string, ProcedureFn> {
  return (router._def as unknown as { procedures: Record<string, ProcedureFn> }).procedures;
}

/** The definition of the procedure at `path`, or undefined when the router has none there. */
export function procedureDef(router: AnyTRPCRouter, path: string): ProcedureDef | undefined {
  const procedures = routerProcedures(router);
  return Object.hasOwn(procedures, path) ? procedures[path]?._def : undefined;
}

/** The router's root configuration (transformer, error formatter, SSE settings). */
export function routerConfig(router: AnyTRPCRouter): Record<string, any> {
  return (router._def as unknown as { _config: Record<string, any> })._config;
}

/** The record a router was built from, to spread into another `t.router({...})`. */
export function routerRecord<R extends AnyTRPCRouter>(router: R): R['_def']['record'] {
  return router._def.record as R['_def']['record'];
}

/** Gives `target` the root configuration of `source` (a merged router keeps its original settings). */
export function adoptRouterConfig(target: AnyTRPCRouter, source: AnyTRPCRouter): void {
  (target._def as unknown as { _config: unknown })._config = routerConfig(source);
}

/**
 * The folder of the `@trpc/server` copy that built `router`'s procedures, or
 * undefined when it cannot tell. Calling a tRPC procedure without options makes
 * tRPC itself throw before any middleware runs, and the top of that stack is
 * the file of the copy that created the procedure: the only way to see which
 * copy a router comes from, since routers carry no reference to their module.
 */
export async function trpcModuleOfRouter(router: AnyTRPCRouter): Promise<string | undefined> {
  const first = Object.values(routerProcedures(router))[0];
  if (typeof first !== 'function') return undefined;
  try {
    await first(undefined);
  } catch (error) {
    return trpcModuleInStack((error as Error)?.stack);
  }
  return undefined;
}

/** The `…/@trpc/server` folder named by the first stack frame inside one. */
export function trpcModuleInStack(stack: string | undefined): string | undefined {
  const match = /(?:file:\/\/)?(\/[^\s()]*?\/@trpc\/server)\//.exec(stack ?? '');
  return match?.[1];
}
