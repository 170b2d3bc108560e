import {
  CorbelError,
  createMemoryIdempotency,
  type IdempotencyStore,
  idempotencyScope,
  inputFingerprint,
} from '@corbel/core';
import { runWithPublishKeys } from '@corbel/core/internal';
import type { CorbelMetrics } from '../metrics.js';
import { serveCommands } from '../serve/commands.js';
import { sendError } from '../serve/error-response.js';
import type { RequestContext } from '../serve/request-context.js';
import { sendJson } from '../serve/respond.js';
import type { ProcedureType } from '../serve/trpc-bridge.js';

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

/** Keys are 1-255 visible ASCII characters (a UUID, a ULID, a hash...). */
const KEY = /^[\x21-\x7e]{1,255}$/;

/** Statuses a repeat must not replay: the call did not finish in a way a retry could not change. */
function isFinal(status: number): boolean {
  return status < 500 ? ![401, 408, 409, 429, 499].includes(status) : status === 500 || status === 501;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
 * The header applies to one unbatched mutation; on a batch it is refused
 * (400). Queries and subscriptions ignore it.
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

  /** Serves a command request: through the key when it carries one, plainly otherwise. */
  async serve(
    rc: RequestContext,
    types: (ProcedureType | undefined)[],
    type: ProcedureType | 'unknown',
  ): Promise<void> {
    const header = rc.req.headers[IDEMPOTENCY_HEADER];
    if (header === undefined || type !== 'mutation') return serveCommands(rc, types);
    const key = Array.isArray(header) ? undefined : header;
    if (key === undefined || !KEY.test(key)) {
      return refuse(
        rc,
        new CorbelError('BAD_REQUEST', 'Idempotency-Key must be one value of 1-255 visible ASCII characters'),
      );
    }
    if (rc.isBatch) {
      return refuse(
        rc,
        new CorbelError(
          'BAD_REQUEST',
          'Idempotency-Key applies to one mutation: send keyed mutations unbatched',
        ),
      );
    }
    let inputs: unknown[];
    try {
      inputs = await rc.inputs();
    } catch {
      // Bad input never ran anything: answered as without a key (the read is remembered).
      return serveCommands(rc, types);
    }
    const scope = idempotencyScope(rc.identity?.id ?? '', rc.paths[0]!, key);
    const fingerprint = inputFingerprint(inputs[0]);
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
          return refuse(rc, CorbelError.from(error, 'STORE_UNAVAILABLE'));
        }
        if (claim.state === 'claimed') return this.run(rc, types, scope, fingerprint, claim.token);
        if (claim.state === 'done') {
          const path = rc.paths[0]!;
          this.metrics?.idempotentReplays.inc({ procedure: rc.bridge.typeOf(path) ? path : 'unknown' });
          sendJson(rc.res, claim.response.status, claim.response.body, { [REPLAYED_HEADER]: 'true' });
          return;
        }
        if (claim.state === 'mismatch') {
          return refuse(
            rc,
            new CorbelError(
              'IDEMPOTENCY_KEY_REUSED',
              `Idempotency-Key was already used for ${rc.paths[0]} with a different input`,
            ),
          );
        }
        // Pending on another instance: poll, a little slower each time.
        await sleep(Math.min(25 * 2 ** Math.min(attempt, 3), Math.max(0, deadline - Date.now())));
      }
      if (Date.now() >= deadline) {
        return refuse(
          rc,
          new CorbelError(
            'IDEMPOTENCY_IN_FLIGHT',
            `a call with this Idempotency-Key is still running; retry with the same key`,
          ),
          { 'retry-after': '1' },
        );
      }
      if (rc.signal.aborted) return;
    }
  }

  private release(scope: string, token: string): Promise<void> {
    return releaseWithRetries(this.store, scope, token);
  }

  /** Runs the claimed call, records (or releases) its answer, then writes it. */
  private async run(
    rc: RequestContext,
    types: (ProcedureType | undefined)[],
    scope: string,
    fingerprint: string,
    token: string,
  ): Promise<void> {
    let done!: () => void;
    this.running.set(
      scope,
      new Promise<void>((resolve) => {
        done = resolve;
      }),
    );
    let answer: { status: number; body: string; headers: Record<string, string> } | undefined;
    try {
      // The procedure's publishes carry keys of this call: a run that repeats
      // one whose answer was never recorded (this process died after storing
      // the event, or the record failed) gets the stored event back from the
      // log instead of publishing again.
      await runWithPublishKeys(scope, fingerprint, this.store.ttlMs, () =>
        serveCommands(rc, types, (_res, status, body, headers) => {
          answer = { status, body, headers };
        }),
      );
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
    if (answer) sendJson(rc.res, answer.status, answer.body, answer.headers);
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
