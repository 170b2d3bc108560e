import { CliError, EXIT } from './exit-codes.js';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The tRPC error document's `data` (protocol.md §6.1), as far as the CLI reads it. */
export interface ErrorData {
  code?: string | undefined;
  httpStatus?: number | undefined;
  corbelCode?: string | null | undefined;
  issues?: { path: (string | number)[]; message: string }[] | undefined;
}

/**
 * Turns anything a command threw into a CliError with the right exit status
 * and a one-line message: transport failures, tRPC errors by code, Corbel
 * codes (HISTORY_GONE), and the server's own "did you mean" suggestions.
 *
 * @example
 * try { await client.weather.report.mutate({ city: 'Oslo', celsius: 1 }); }
 * catch (error) { throw classifyError(error, { url, path: 'weather.report' }); }
 */
export function classifyError(error: unknown, context: { url: string; path?: string }): CliError {
  if (error instanceof CliError) return error;
  const network = networkCode(error);
  if (network) {
    return new CliError(
      EXIT.UNREACHABLE,
      'unreachable',
      `cannot reach ${context.url} (${network})${network.includes('CERT') ? '; pass --ca <file> to trust its certificate' : ''}`,
      { cause: error },
    );
  }
  if (isClientError(error)) {
    const data = (error.data ?? undefined) as ErrorData | undefined;
    if (data?.code) return fromErrorData(error.message, data, context, error);
    if (/timed out|timeout/i.test(error.message)) {
      return new CliError(EXIT.UNREACHABLE, 'timeout', `${context.url} did not answer in time`, {
        cause: error,
      });
    }
    if (/fetch failed|network|socket/i.test(error.message)) {
      return new CliError(EXIT.UNREACHABLE, 'unreachable', `cannot reach ${context.url} (${error.message})`, {
        cause: error,
      });
    }
    return new CliError(EXIT.SERVER_ERROR, 'server error', error.message, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new CliError(EXIT.INTERNAL, 'internal error', message, { cause: error });
}

/**
 * Classifies a server's error document (from a refused request or a stream frame).
 *
 * @example
 * fromErrorData('no such procedure', { code: 'NOT_FOUND' }, { url }).exitCode; // 5
 */
export function fromErrorData(
  message: string,
  data: ErrorData,
  context: { url: string; path?: string },
  cause?: unknown,
): CliError {
  const opts = { cause };
  if (data.corbelCode === 'HISTORY_GONE') {
    return new CliError(
      EXIT.HISTORY_GONE,
      'history gone',
      `${message} — run again without --since to start from new events`,
      opts,
    );
  }
  switch (data.code) {
    case 'UNAUTHORIZED':
      return new CliError(
        EXIT.AUTH,
        'not authenticated',
        `${message} (pass --token <token> or set CORBEL_TOKEN)`,
        opts,
      );
    case 'FORBIDDEN':
      return new CliError(EXIT.AUTH, 'forbidden', message, opts);
    case 'NOT_FOUND':
      return new CliError(EXIT.NOT_FOUND, 'unknown procedure', notFoundMessage(message, context.path), opts);
    case 'BAD_REQUEST':
    case 'PARSE_ERROR':
    case 'PAYLOAD_TOO_LARGE':
    case 'UNPROCESSABLE_CONTENT': {
      const issues = data.issues?.length
        ? data.issues.map((i) => `${i.path.length ? i.path.join('.') : 'input'}: ${i.message}`).join('; ')
        : message;
      return new CliError(EXIT.INVALID_INPUT, 'invalid input', issues, opts);
    }
    case 'METHOD_NOT_SUPPORTED':
      return new CliError(
        EXIT.USAGE,
        'wrong kind',
        `${message} (drop --query/--mutation to let corbel find out)`,
        opts,
      );
    default:
      return new CliError(
        EXIT.SERVER_ERROR,
        'server error',
        `${data.httpStatus ?? ''} ${data.code}${data.corbelCode ? `/${data.corbelCode}` : ''}: ${message}`.trim(),
        opts,
      );
  }
}

/** "No procedure weather.lates — did you mean weather.latest, weather.report?" from the server's message. */
function notFoundMessage(message: string, path: string | undefined): string {
  const near = /did you mean (.*)\?$/.exec(message)?.[1];
  const names = near ? [...near.matchAll(/"([^"]+)"/g)].map((m) => m[1]) : [];
  const what = path ? `no procedure "${path}"` : message;
  return names.length
    ? `${what} — did you mean ${names.join(', ')}?`
    : `${what} (the server suggests no close name)`;
}

function networkCode(error: unknown): string | undefined {
  let current: any = error;
  for (let depth = 0; depth < 6 && current; depth++) {
    const code = current.code;
    if (
      typeof code === 'string' &&
      (NETWORK_CODES.has(code) || code.startsWith('ERR_TLS') || code.includes('CERT'))
    ) {
      return code;
    }
    if (Array.isArray(current.errors)) {
      const inner = current.errors.map(networkCode).find(Boolean);
      if (inner) return inner;
    }
    // Node's fetch reports every transport failure as "fetch failed" with the reason as its cause.
    if (current instanceof TypeError && current.message === 'fetch failed') {
      const cause = (current as { cause?: { code?: string; message?: string } }).cause;
      return networkCode(cause) ?? cause?.code ?? cause?.message ?? 'fetch failed';
    }
    current = current.cause;
  }
  return undefined;
}

/** tRPC's TRPCClientError, recognised by name so the CLI needs no direct @trpc/client dependency. */
function isClientError(error: unknown): error is Error & { data?: unknown } {
  return error instanceof Error && error.name === 'TRPCClientError';
}
