import type { TRPCError } from '@trpc/server';
import type { ProcedureType, RouterBridge } from './trpc-bridge.js';

/** What one RPC request carries through the serving path. */
export interface RequestContext {
  bridge: RouterBridge;
  paths: string[];
  isBatch: boolean;
  signal: AbortSignal;
  createContext(): Promise<unknown>;
  reportError(
    error: TRPCError,
    path: string | undefined,
    type: ProcedureType | 'unknown',
    input: unknown,
    ctx: unknown,
  ): void;
  notFoundMessage(path: string): string;
}
