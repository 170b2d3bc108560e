/**
 * The types of the serving path, in a module of their own: the handler, the
 * request context and the command runner all read them, and none of them
 * imports another for its types (no import cycle).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TRPCError } from '@trpc/server';
import type { Identity } from '../auth/authenticate.js';
import type { IdempotentCommands } from '../idempotency/serve-idempotent.js';
import type { RequestGate } from '../request-gate.js';
import type { StreamRegistry } from './event-stream.js';
import type { ProcedureType, RouterBridge } from './trpc-bridge.js';

export interface CreateContextOptions {
  req: IncomingMessage;
  res: ServerResponse;
  info: { paths: string[]; type: ProcedureType | 'unknown'; isBatch: boolean };
  /** The authenticated caller (null when the server has no `authenticate`). */
  identity: Identity | null;
}

export interface OnErrorOptions {
  error: TRPCError;
  path: string | undefined;
  type: ProcedureType | 'unknown';
  input: unknown;
  ctx: unknown;
  req: IncomingMessage;
}

export interface RpcHandlerOptions {
  bridge: RouterBridge;
  basePath: string;
  streams: StreamRegistry;
  createContext?: ((opts: CreateContextOptions) => unknown | Promise<unknown>) | undefined;
  maxBodyBytes: number;
  /** Time to receive a command's body (0: only the server's request timeout). */
  bodyTimeoutMs?: number | undefined;
  maxBatchSize: number;
  onError?: ((opts: OnErrorOptions) => void) | undefined;
  onCommand?: ((paths: string[], status: number) => void) | undefined;
  /** Authentication, authorization and per-identity limits. */
  gate: RequestGate;
  /** Idempotent mutations (the `Idempotency-Key` header); without it the header is ignored. */
  idempotency?: IdempotentCommands | undefined;
  /** Called once per command request when its response is written, with the time it took. */
  onCommandDone?: ((req: IncomingMessage, paths: string[], status: number, ms: number) => void) | undefined;
}
