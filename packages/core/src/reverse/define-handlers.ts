import type { z } from 'zod';

/**
 * One client-side procedure (a "handler"): the server calls it, a client
 * implements it. Input and output are zod schemas, checked on both sides.
 */
export interface HandlerSpec<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  readonly input: I;
  readonly output: O;
  readonly description?: string | undefined;
}

/** The handlers a contract declares, by dotted path (like a router's procedure paths). */
export type HandlerContract = { readonly [path: string]: HandlerSpec };

/** A handler's path in a contract. */
export type HandlerPath<C extends HandlerContract> = keyof C & string;
/** What the server passes when calling `path`. */
export type HandlerInput<C extends HandlerContract, P extends HandlerPath<C>> = z.input<C[P]['input']>;
/** What the server gets back from `path`. */
export type HandlerOutput<C extends HandlerContract, P extends HandlerPath<C>> = z.output<C[P]['output']>;

/** What a handler implementation receives beside its input. */
export interface HandlerContext {
  /** The call's id (unique per call; a redelivered call keeps it). */
  readonly callId: string;
  /** Aborted when the server cancels the call or gives up on it (timeout). */
  readonly signal: AbortSignal;
}

/** A client's implementation of one handler. */
export type HandlerImplementation<S extends HandlerSpec> = (
  input: z.output<S['input']>,
  ctx: HandlerContext,
) => z.input<S['output']> | Promise<z.input<S['output']>>;

/** Implementations for some or all handlers of a contract. */
export type HandlerImplementations<C extends HandlerContract> = {
  [P in HandlerPath<C>]?: HandlerImplementation<C[P]>;
};

const PATH = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * Declares one handler (a procedure the client implements).
 *
 * @example
 * const describe = defineHandler({ input: z.object({}), output: z.object({ name: z.string() }) });
 */
export function defineHandler<I extends z.ZodType, O extends z.ZodType>(spec: {
  input: I;
  output: O;
  description?: string | undefined;
}): HandlerSpec<I, O> {
  return Object.freeze({ ...spec });
}

/**
 * Declares the handlers clients offer, keyed by dotted path. The result is a
 * plain value shared by server and clients, like the router: the server calls
 * through it, clients implement it, and both validate against it.
 *
 * @example
 * export const boardHandlers = defineHandlers({
 *   'board.describe': defineHandler({ input: z.object({}), output: z.object({ received: z.number() }) }),
 * });
 */
export function defineHandlers<C extends HandlerContract>(handlers: C): C {
  for (const path of Object.keys(handlers)) {
    if (!PATH.test(path) || path.length > 200) {
      throw new TypeError(`handler path "${path}" must be dotted names of letters, digits, _ and -`);
    }
  }
  return Object.freeze({ ...handlers });
}
