import { createHash, timingSafeEqual } from 'node:crypto';
import { type Authenticate, bearerTokenOf, type Identity } from './authenticate.js';

export interface StaticTokenOptions {
  /**
   * Accepted tokens: one secret, a list, or a map from secret to the identity
   * id it stands for (default id: "token" for one secret, "token-<n>" for a list).
   */
  tokens?: string | string[] | Record<string, string> | undefined;
  /** Also accept the token in this environment variable (e.g. "CORBEL_TOKEN"). */
  env?: string | undefined;
  /**
   * Mark the holders of these tokens as operators (`identity.operator`), who
   * may use operator-only queries such as `session.list` (default false).
   */
  operator?: boolean | undefined;
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * An authenticator for fixed bearer tokens (from config or the environment),
 * compared in constant time: both sides are hashed first, so neither the
 * content nor the length of a secret leaks through timing.
 *
 * @example
 * createCorbelServer({ router, authenticate: staticTokenAuth({ tokens: 's3cret' }) });
 */
export function staticTokenAuth(opts: StaticTokenOptions): Authenticate {
  const entries: { hash: Buffer; id: string }[] = [];
  const add = (secret: string, id: string) => {
    if (secret.length > 0) entries.push({ hash: digest(secret), id });
  };
  const { tokens } = opts;
  if (typeof tokens === 'string') add(tokens, 'token');
  else if (Array.isArray(tokens)) {
    for (const [i, t] of tokens.entries()) add(t, tokens.length === 1 ? 'token' : `token-${i + 1}`);
  } else if (tokens) for (const [secret, id] of Object.entries(tokens)) add(secret, id);
  const fromEnv = opts.env ? process.env[opts.env] : undefined;
  if (fromEnv) add(fromEnv, 'token');
  if (entries.length === 0) {
    throw new RangeError('staticTokenAuth needs at least one non-empty token (tokens or env)');
  }
  return (req): Identity | null => {
    const presented = bearerTokenOf(req);
    if (presented === null) return null;
    const hash = digest(presented);
    let found: string | null = null;
    // Compare against every entry, so timing does not say which one matched.
    for (const entry of entries) {
      if (timingSafeEqual(hash, entry.hash) && found === null) found = entry.id;
    }
    if (found === null) return null;
    return opts.operator ? { id: found, operator: true } : { id: found };
  };
}
