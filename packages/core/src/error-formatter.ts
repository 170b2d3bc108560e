import type { TRPCDefaultErrorShape, TRPCError } from '@trpc/server';
import { CorbelError } from './errors.js';

/** One validation problem, as a client shows it next to a field. */
export interface ValidationIssue {
  path: (string | number)[];
  message: string;
  code: string;
}

/** What Corbel adds to tRPC's error `data`. */
export interface CorbelErrorData {
  /** Corbel's own code (HISTORY_GONE, SLOW_CONSUMER, …), or null for plain tRPC errors. */
  corbelCode: string | null;
  /** Whether retrying (or reconnecting) can succeed. */
  retryable: boolean;
  /** Input validation problems with their field paths, when the input was refused. */
  issues?: ValidationIssue[] | undefined;
}

const RETRYABLE_TRPC_CODES = new Set([
  'SERVICE_UNAVAILABLE',
  'BAD_GATEWAY',
  'GATEWAY_TIMEOUT',
  'TOO_MANY_REQUESTS',
]);

function issuesOf(error: TRPCError): ValidationIssue[] | undefined {
  const cause = error.cause as { issues?: unknown } | undefined;
  if (!cause || !Array.isArray(cause.issues)) return undefined;
  return cause.issues.slice(0, 20).map((issue: any) => ({
    path: Array.isArray(issue?.path)
      ? issue.path.map((p: unknown) => (typeof p === 'number' ? p : String(p)))
      : [],
    message: String(issue?.message ?? 'invalid'),
    code: String(issue?.code ?? 'invalid'),
  }));
}

/**
 * The tRPC error formatter every Corbel router uses (`initCorbel` sets it):
 * adds `corbelCode`, `retryable` and validation `issues` to the error data.
 *
 * @example
 * initTRPC.create({ transformer: superjson, errorFormatter: corbelErrorFormatter });
 */
export function corbelErrorFormatter(opts: {
  shape: TRPCDefaultErrorShape;
  error: TRPCError;
}): TRPCDefaultErrorShape & { data: TRPCDefaultErrorShape['data'] & CorbelErrorData } {
  const { shape, error } = opts;
  const corbel = CorbelError.find(error);
  const issues = shape.data.code === 'BAD_REQUEST' ? issuesOf(error) : undefined;
  const data: TRPCDefaultErrorShape['data'] & CorbelErrorData = {
    ...shape.data,
    corbelCode: corbel?.corbelCode ?? null,
    retryable: corbel?.retryable ?? RETRYABLE_TRPC_CODES.has(shape.data.code),
  };
  if (issues) {
    data.issues = issues;
    // tRPC's message for a validation error is the raw issue JSON; say it in words.
    const message = issues
      .map((i) => `${i.path.length ? i.path.join('.') : 'input'}: ${i.message}`)
      .join('; ');
    return { ...shape, message, data };
  }
  return { ...shape, data };
}
