import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';

/**
 * Publish keys: what makes an idempotent mutation's events exactly-once.
 *
 * A keyed mutation runs inside `runWithPublishKeys`; every `hub.publish` it
 * makes takes the next key of the call (the same sequence on every run of
 * the same call), and the log stores the event and the key → event id in one
 * atomic step (`EventLog.appendOnce`). A run that repeats a call whose
 * answer was never recorded (the process died between storing the event
 * and recording the answer, or the record failed) then gets the stored
 * event back instead of publishing it again.
 */
interface PublishKeys {
  readonly base: string;
  readonly ttlMs: number;
  next: number;
}

const calls = new AsyncLocalStorage<PublishKeys>();

/**
 * Runs `fn` as one keyed call: publishes made inside it (across awaits) are
 * deduplicated by (`scope`, `fingerprint`, their order in the call) for
 * `ttlMs`. The server wraps every mutation that carries an Idempotency-Key.
 *
 * @example
 * await runWithPublishKeys(idempotencyScope(identity, path, idempotencyKey), inputFingerprint(input), 86_400_000, () => run());
 */
export function runWithPublishKeys<T>(scope: string, fingerprint: string, ttlMs: number, fn: () => T): T {
  return calls.run({ base: `${scope}\0${fingerprint}`, ttlMs, next: 0 }, fn);
}

/**
 * The key of the next publish in the current keyed call, or undefined
 * outside one. Keys are fixed-size hashes, so stores never see raw keys.
 *
 * @example
 * const key = nextPublishKey(); // { key: 'ab12…', ttlMs: 86400000 } inside a keyed mutation
 */
export function nextPublishKey(): { key: string; ttlMs: number } | undefined {
  const call = calls.getStore();
  if (!call) return undefined;
  const n = call.next++;
  return { key: publishKeyOf(`${call.base}\0${n}`), ttlMs: call.ttlMs };
}

/** Hashes a caller-chosen publish key to the fixed-size form stores keep. */
export function publishKeyOf(raw: string): string {
  return createHash('sha256').update(raw).digest('hex');
}
