/**
 * The `corbel` command's exit statuses, one per class of error a user can act
 * on. Scripts may rely on them; `corbel --help` lists them.
 */
export const EXIT = {
  /** Success. */
  OK: 0,
  /** `contract diff` found breaking changes. */
  BREAKING: 1,
  /** Bad arguments or options, or a procedure used the wrong way (a query with `listen`, …). */
  USAGE: 2,
  /** The server could not be reached (refused, DNS, TLS) or did not answer in time. */
  UNREACHABLE: 3,
  /** 401 or 403: missing, wrong or expired token, or not allowed. */
  AUTH: 4,
  /** 404: no such procedure (the closest names are suggested). */
  NOT_FOUND: 5,
  /** The JSON input given on the command line, in a file or on stdin does not parse. */
  BAD_JSON: 6,
  /** 400: the server refused the input (validation errors name the field). */
  INVALID_INPUT: 7,
  /** The server failed or refused for another reason (5xx, 429, …). */
  SERVER_ERROR: 8,
  /** `listen --since`: the id is older than the server's retained history. */
  HISTORY_GONE: 9,
  /** An unexpected error in corbel itself (rerun with --debug for the stack). */
  INTERNAL: 10,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit status table as `--help` prints it. */
export const EXIT_HELP = `Exit status:
  0   success
  1   contract diff: breaking changes found
  2   usage error (bad arguments; a query used with listen, …)
  3   server unreachable or timed out
  4   not authenticated or not allowed (401/403)
  5   unknown procedure (404; closest names suggested)
  6   the JSON input does not parse (position shown)
  7   the server refused the input (400; field path shown)
  8   server error (5xx, 429, other refusals)
  9   history gone: the --since id is no longer retained
  10  internal error in corbel (rerun with --debug)`;

/**
 * An error the CLI reports as one line and an exit status. `label` names the
 * class ("unreachable", "invalid input", …).
 */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    readonly label: string,
    message: string,
    opts: { cause?: unknown } = {},
  ) {
    super(message, opts);
    this.name = 'CliError';
  }
}
