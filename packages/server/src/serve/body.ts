import { isAscii, isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { TRPCError } from '@trpc/server';

/**
 * A body's text, or undefined when it is not valid UTF-8 (refused rather
 * than silently replaced). What a fatal TextDecoder answers, BOM stripped
 * included, but cheaper: most bodies are ASCII, copied byte for byte.
 */
export function utf8Text(buf: Buffer): string | undefined {
  if (isAscii(buf)) return buf.toString('latin1');
  if (!isUtf8(buf)) return undefined;
  const bom = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf;
  return buf.toString('utf8', bom ? 3 : 0);
}

/**
 * Reads a request body as UTF-8 text, refusing more than `limit` bytes with
 * PAYLOAD_TOO_LARGE (413) as soon as the declared or received size passes it,
 * without buffering the excess, and a body not complete within `timeoutMs`
 * with TIMEOUT (408), closing its connection.
 */
export function readBody(req: IncomingMessage, limit: number, timeoutMs = 0): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    discard(req, limit);
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer =
      timeoutMs > 0
        ? bodyDeadlines(timeoutMs).add(() => {
            cleanup();
            reject(
              new TRPCError({
                code: 'TIMEOUT',
                message: `the request body did not arrive within ${timeoutMs} ms`,
              }),
            );
            // The rest of the body will not be read: give the 408 a moment to leave, then close.
            setTimeout(() => req.socket.destroy(), 1000).unref();
          })
        : undefined;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        discard(req, limit);
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      // The body is complete: nothing more arrives, so the listeners can stay
      // (removing three per command was a measurable share of it).
      if (timer) timer.cancel();
      const text = utf8Text(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      if (text !== undefined) resolve(text);
      else reject(new TRPCError({ code: 'BAD_REQUEST', message: 'request body is not valid UTF-8' }));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new TRPCError({ code: 'BAD_REQUEST', message: 'request body could not be read', cause: error }));
    };
    const cleanup = () => {
      if (timer) timer.cancel();
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** A pending deadline; `cancel` takes it out. A class: no closure per request. */
class Deadline {
  constructor(
    readonly at: number,
    readonly fire: () => void,
    private readonly pending: Set<Deadline>,
  ) {}

  cancel(): void {
    this.pending.delete(this);
  }
}

/**
 * The body deadlines of one timeout length, checked by one timer: a timer
 * per request (set, then cleared when the body is in a moment later) was a
 * measurable share of a command. A deadline fires up to a tenth of the
 * timeout late (at most 250 ms), never early.
 */
class DeadlineSet {
  private readonly pending = new Set<Deadline>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly timeoutMs: number) {}

  add(fire: () => void): Deadline {
    const deadline = new Deadline(Date.now() + this.timeoutMs, fire, this.pending);
    this.pending.add(deadline);
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.sweep(), Math.max(5, Math.min(250, this.timeoutMs / 10)));
      this.sweeper.unref();
    }
    return deadline;
  }

  private sweep(): void {
    const now = Date.now();
    // Insertion order is deadline order (one timeout length per set).
    for (const d of this.pending) {
      if (d.at > now) break;
      this.pending.delete(d);
      d.fire();
    }
    if (this.pending.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }
}

const deadlineSets = new Map<number, DeadlineSet>();

function bodyDeadlines(timeoutMs: number): DeadlineSet {
  let set = deadlineSets.get(timeoutMs);
  if (!set) {
    set = new DeadlineSet(timeoutMs);
    deadlineSets.set(timeoutMs, set);
  }
  return set;
}

/**
 * Reads and drops the rest of a refused body so the client, still uploading,
 * gets to read the 413 instead of a reset (a "lingering close"). Bounded: past
 * 32× the limit or 10 s the socket is destroyed.
 */
function discard(req: IncomingMessage, limit: number): void {
  let dropped = 0;
  const cap = Math.max(limit * 32, 32 * 1024 * 1024);
  const timer = setTimeout(() => req.socket.destroy(), 10_000);
  timer.unref();
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > cap) req.socket.destroy();
  });
  req.once('end', () => clearTimeout(timer));
  req.once('close', () => clearTimeout(timer));
  req.resume();
}

function tooLarge(limit: number) {
  return new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: `request body exceeds ${limit} bytes` });
}

/** Parses JSON, turning a syntax error into a BAD_REQUEST that names the position. */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new TRPCError({
      code: 'BAD_REQUEST',
      message: `${what} is not valid JSON: ${(error as Error).message}`,
      cause: error,
    });
  }
}
