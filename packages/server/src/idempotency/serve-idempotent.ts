import {
  CorbelError,
  createMemoryIdempotency,
  type IdempotencyStore,
  idempotencyScope,
  inputFingerprint,
} from '@corbel/core';
import { runWithPublishKeys } from '@corbel/core/internal';
import type { TRPCError } from '@trpc/server';
import type { CorbelMetrics } from '../metrics.js';
import { callOne, serveCommands } from '../serve/commands.js';
import { sendError } from '../serve/error-response.js';
import { piggybackHeaders, wantsPiggyback } from '../serve/piggyback.js';
import type { RequestContext } from '../serve/request-context.js';
import { sendJson } from '../serve/respond.js';
import { getTRPCErrorFromUnknown, type ProcedureType } from '../serve/trpc-bridge.js';
import { parseIdempotencyKeys } from './idempotency-keys.js';

/** The header a caller names a logical call with (IETF httpapi-idempotency-key draft). */
export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** Set on a response that replays a recorded one (as Stripe does). */
export const REPLAYED_HEADER = 'idempotent-replayed';

export interface IdempotencyOptions {
  /** Where records live: memory (one instance), SQLite (survives restarts), Redis (shared). */
  store: IdempotencyStore;
  /**
   * How long a run holds its key before another instance may take it over
   * (default 60 s): longer than any mutation runs, short enough that a
   * crashed instance's keys come free.
   */
  leaseMs?: number | undefined;
  /** How long a repeat waits for a run still in flight before 409 IDEMPOTENCY_IN_FLIGHT (default 10 s). */
  waitMs?: number | undefined;
}

/** Statuses a repeat must not replay: the call did not finish in a way a retry could not change. */
function isFinal(status: number): boolean {
  return status < 500 ? ![401, 408, 409, 429, 499].includes(status) : status === 500 || status === 501;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One call's answer as written to the wire: a whole response, or one element of a batch's array. */
interface Answer {
  status: number;
  body: string;
  headers: Record<string, string>;
}

/** How one keyed call ended. */
type Outcome =
  /** It ran here, now (and its answer is recorded unless a retry could change it). */
  | ({ kind: 'ran' } & Answer)
  /** A run with this key and input had finished: its recorded answer. */
  | { kind: 'replayed'; status: number; body: string }
  /** Refused without running: key reused, still in flight, store unreachable. */
  | { kind: 'refused'; error: CorbelError; headers: Record<string, string> }
  /** The caller left while waiting, or the run wrote nothing: nothing to answer. */
  | { kind: 'gone' };

const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/**
 * Idempotent mutations: a mutation that carries `Idempotency-Key` runs at
 * most once per (identity, procedure, key) for the store's TTL.
 * - the first call claims the key, runs, records its response (status and
 *   body, byte for byte) before answering;
 * - a repeat gets the recorded response, with `Idempotent-Replayed: true`;
 * - a repeat while the first still runs waits for it: on this instance on
 *   the run itself, elsewhere by polling the store, up to `waitMs`, then 409
 *   IDEMPOTENCY_IN_FLIGHT (retryable);
 * - the same key with another input: 422 IDEMPOTENCY_KEY_REUSED;
 * - answers a retry could change (401, 408, 409, 429, 499, 502-504) are not
 *   recorded: the key is released and the next attempt runs afresh.
 * A batch carries one key per call (`Idempotency-Key: k0, k1, …`, see
 * `parseIdempotencyKeys`), and each call goes through all of the above on
 * its own: a retried batch replays the calls that finished and runs the
 * rest, and a refusal (reused key, in flight) answers that call only. A
 * call's record is the same whether it came alone or in a batch, so a call
 * first sent alone and retried in a batch (or the other way) runs once.
 * Queries and subscriptions ignore the header.
 */
export class IdempotentCommands {
  readonly store: IdempotencyStore;
  readonly leaseMs: number;
  readonly waitMs: number;
  /** Runs in flight on this instance, by scope: repeats here wait on them directly. */
  private readonly running = new Map<string, Promise<void>>();

  private readonly metrics: CorbelMetrics | undefined;

  constructor(opts: IdempotencyOptions | IdempotencyStore | undefined, metrics?: CorbelMetrics) {
    this.metrics = metrics;
    const o: IdempotencyOptions =
      opts === undefined ? { store: createMemoryIdempotency() } : 'claim' in opts ? { store: opts } : opts;
    this.store = o.store;
    this.leaseMs = o.leaseMs ?? 60_000;
    this.waitMs = o.waitMs ?? 10_000;
  }

  /** Serves a command request: through its keys when it carries them, plainly otherwise. */
  async serve(
    rc: RequestContext,
    types: (ProcedureType | undefined)[],
    type: ProcedureType | 'unknown',
  ): Promise<void> {
    const header = rc.req.headers[IDEMPOTENCY_HEADER];
    if (header === undefined || type !== 'mutation') return serveCommands(rc, types);
    let keys: string[];
    try {
      // Before the body is read: a malformed list costs the server nothing more.
      keys = parseIdempotencyKeys(header, rc.paths.length, rc.isBatch);
    } catch (error) {
      return refuse(rc, CorbelError.from(error, 'BAD_REQUEST'));
    }
    let inputs: unknown[];
    try {
      inputs = await rc.inputs();
    } catch {
      // Bad input never ran anything: answered as without a key (the read is remembered).
      return serveCommands(rc, types);
    }
    if (rc.isBatch) return this.serveBatch(rc, types, keys, inputs);
    const path = rc.paths[0]!;
    const outcome = await this.once(rc, path, keys[0]!, inputs[0], async () => {
      let answer: Answer | undefined;
      await serveCommands(rc, types, (_res, status, body, headers) => {
        answer = { status, body, headers };
      });
      return answer;
    });
    switch (outcome.kind) {
      case 'ran':
        return sendJson(rc.res, outcome.status, outcome.body, outcome.headers);
      case 'replayed':
        return sendJson(rc.res, outcome.status, outcome.body, { [REPLAYED_HEADER]: 'true' });
      case 'refused':
        return refuse(rc, outcome.error, outcome.headers);
      case 'gone':
        return;
    }
  }

  /**
   * A batch with one key per call: the request's steps (the in-flight slot,
   * the context) once, then every call through its own key, concurrently
   * (a batch waits for in-flight keys at most `waitMs` in all, not per
   * call), then one array with each call's answer in order. Each call is
   * recorded before the array is written.
   */
  private async serveBatch(
    rc: RequestContext,
    types: (ProcedureType | undefined)[],
    keys: string[],
    inputs: unknown[],
  ): Promise<void> {
    const { bridge, paths } = rc;
    let requestError: TRPCError | undefined;
    try {
      rc.opts.gate.hold(rc.req, rc.res);
      await rc.context();
    } catch (cause) {
      requestError = getTRPCErrorFromUnknown(cause);
    }
    const errors: TRPCError[] = [];
    const headers: Record<string, string> = {};
    const runCall = async (i: number): Promise<Answer> => {
      const answer = await callOne(rc, types[i], paths[i]!, i, inputs[i], requestError, errors, headers);
      const error = errors[i];
      return {
        status: bridge.statusOf(answer, error ? [error] : []),
        body: JSON.stringify(bridge.wire(answer)),
        headers: NO_HEADERS,
      };
    };
    const outcomes = await Promise.all(
      paths.map(
        (path, i): Promise<Outcome> =>
          // A request that failed as a whole (no slot, no context) ran nothing: no key is taken.
          requestError
            ? runCall(i).then((answer) => ({ kind: 'ran', ...answer }))
            : this.once(rc, path, keys[i]!, inputs[i], () => runCall(i)),
      ),
    );
    if (outcomes.some((o) => o.kind === 'gone')) return;
    const statuses = new Set<number>();
    const elements = outcomes.map((o, i) => {
      if (o.kind === 'refused') {
        Object.assign(headers, o.headers);
        const shape = rc.failed(o.error, paths[i], 'mutation', inputs[i]);
        statuses.add(bridge.statusOfError(o.error));
        return JSON.stringify(bridge.wire({ error: shape }));
      }
      if (o.kind === 'gone') throw new Error('unreachable');
      statuses.add(o.status);
      return o.body;
    });
    if (outcomes.some((o) => o.kind === 'replayed')) {
      headers[REPLAYED_HEADER] = outcomes.map((o) => String(o.kind === 'replayed')).join(', ');
    }
    if (wantsPiggyback(rc)) Object.assign(headers, await piggybackHeaders(rc));
    // tRPC's rule: the calls' common status, or 207 when they differ.
    const status = statuses.size === 1 ? statuses.values().next().value! : 207;
    sendJson(rc.res, status, `[${elements.join(',')}]`, headers);
  }

  /**
   * One keyed call: claims its key and runs it, or replays its recorded
   * answer, or waits for the run holding it (here or elsewhere) up to
   * `waitMs`, or says why it was refused.
   */
  private async once(
    rc: RequestContext,
    path: string,
    key: string,
    input: unknown,
    run: () => Promise<Answer | undefined>,
  ): Promise<Outcome> {
    const scope = idempotencyScope(rc.identity?.id ?? '', path, key);
    const fingerprint = inputFingerprint(input);
    const deadline = Date.now() + this.waitMs;
    for (let attempt = 0; ; attempt++) {
      const local = this.running.get(scope);
      if (local) {
        await Promise.race([local, sleep(Math.max(0, deadline - Date.now()))]);
      } else {
        let claim: Awaited<ReturnType<IdempotencyStore['claim']>>;
        try {
          claim = await this.store.claim(scope, fingerprint, this.leaseMs);
        } catch (error) {
          return {
            kind: 'refused',
            error: CorbelError.from(error, 'STORE_UNAVAILABLE'),
            headers: NO_HEADERS,
          };
        }
        if (claim.state === 'claimed') return this.run(scope, fingerprint, claim.token, run);
        if (claim.state === 'done') {
          this.metrics?.idempotentReplays.inc({ procedure: rc.bridge.typeOf(path) ? path : 'unknown' });
          return { kind: 'replayed', status: claim.response.status, body: claim.response.body };
        }
        if (claim.state === 'mismatch') {
          return {
            kind: 'refused',
            error: new CorbelError(
              'IDEMPOTENCY_KEY_REUSED',
              `Idempotency-Key was already used for ${path.slice(0, 200)} with a different input`,
            ),
            headers: NO_HEADERS,
          };
        }
        // Pending on another instance: poll, a little slower each time.
        await sleep(Math.min(25 * 2 ** Math.min(attempt, 3), Math.max(0, deadline - Date.now())));
      }
      if (Date.now() >= deadline) {
        return {
          kind: 'refused',
          error: new CorbelError(
            'IDEMPOTENCY_IN_FLIGHT',
            `a call with this Idempotency-Key is still running; retry with the same key`,
          ),
          headers: { 'retry-after': '1' },
        };
      }
      if (rc.signal.aborted) return { kind: 'gone' };
    }
  }

  private release(scope: string, token: string): Promise<void> {
    return releaseWithRetries(this.store, scope, token);
  }

  /** Runs the claimed call and records (or releases) its answer; the caller writes it. */
  private async run(
    scope: string,
    fingerprint: string,
    token: string,
    run: () => Promise<Answer | undefined>,
  ): Promise<Outcome> {
    let done!: () => void;
    this.running.set(
      scope,
      new Promise<void>((resolve) => {
        done = resolve;
      }),
    );
    let answer: Answer | undefined;
    try {
      // The procedure's publishes carry keys of this call: a run that repeats
      // one whose answer was never recorded (this process died after storing
      // the event, or the record failed) gets the stored event back from the
      // log instead of publishing again.
      answer = await runWithPublishKeys(scope, fingerprint, this.store.ttlMs, run);
      if (answer && isFinal(answer.status)) {
        // Recorded before the answer is written: whoever sees the answer can
        // only ever see it again. A failed record keeps the answer; the lease
        // then lapses and a later repeat runs again, its publishes answered
        // by their keys.
        await this.store
          .complete(scope, token, { status: answer.status, body: answer.body })
          .catch(() => false);
      } else {
        await this.release(scope, token);
      }
    } catch (error) {
      await this.release(scope, token);
      throw error;
    } finally {
      this.running.delete(scope);
      done();
    }
    return answer ? { kind: 'ran', ...answer } : { kind: 'gone' };
  }
}

/**
 * Gives a claim back. When the store cannot be reached (the failure that
 * often made the run fail), tries again a few times in the background, so a
 * brief outage does not leave the key pending for its whole lease.
 */
async function releaseWithRetries(store: IdempotencyStore, scope: string, token: string): Promise<void> {
  try {
    await store.release(scope, token);
  } catch {
    void (async () => {
      for (let delay = 100; delay <= 3200; delay *= 2) {
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
        try {
          await store.release(scope, token);
          return;
        } catch {
          // Still unreachable: the lease lapses by itself in the end.
        }
      }
    })();
  }
}

/** An error answer in tRPC's wire shape, reported like any other. */
function refuse(rc: RequestContext, error: CorbelError, headers: Record<string, string> = {}): void {
  const path = rc.isBatch ? undefined : rc.paths[0];
  rc.reportError(error, path, 'mutation', undefined);
  sendError(rc.res, rc.bridge, error, { type: 'mutation', path, headers });
}
