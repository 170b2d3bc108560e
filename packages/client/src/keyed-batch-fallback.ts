/** The header a batch's keys ride in, one per call in call order (protocol.md §3.3). */
const KEY_HEADER = 'idempotency-key';

/** How long a server that refused a keyed batch is sent calls one by one before batches are tried again. */
const REFUSED_FOR_MS = 60_000;

/**
 * Servers from before batched keys refuse a batch that carries
 * `Idempotency-Key` with a 400 telling the caller to send keyed mutations
 * unbatched. Against such a server (a rolling upgrade where clients go
 * first), this fetch sends the calls of a refused batch one per request,
 * each with its own key, and answers the batch with their answers in
 * order, as a batch answer; for the next minute it sends keyed batches that
 * way straight away, then tries batching again. A refused batch ran
 * nothing, so sending its calls again is safe.
 *
 * @example
 * const keyedFetch = keyedBatchFallback(fetch);
 */
export function keyedBatchFallback(send: typeof fetch): typeof fetch {
  let refusedUntil = 0;
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!isKeyedBatch(url, init)) return send(input, init);
    if (Date.now() < refusedUntil) return sendAlone(send, url, init!);
    const res = await send(input, init);
    if (res.status !== 400) return res;
    const body = await res.arrayBuffer();
    if (!refusesKeyedBatches(body)) {
      return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
    }
    refusedUntil = Date.now() + REFUSED_FOR_MS;
    return sendAlone(send, url, init!);
  };
}

function isKeyedBatch(url: string, init: RequestInit | undefined): boolean {
  return /[?&]batch=1(&|$)/.test(url) && new Headers(init?.headers).has(KEY_HEADER);
}

/** The old server's refusal: one error (not an array) whose message says to send keyed mutations unbatched. */
function refusesKeyedBatches(body: ArrayBuffer): boolean {
  try {
    const answer = JSON.parse(new TextDecoder().decode(body)) as { error?: { json?: { message?: unknown } } };
    const message = answer?.error?.json?.message;
    return typeof message === 'string' && /send keyed mutations unbatched/.test(message);
  } catch {
    return false;
  }
}

/** Sends each call of a batch alone with its own key; answers as the batch would have. */
async function sendAlone(send: typeof fetch, url: string, init: RequestInit): Promise<Response> {
  const target = new URL(url);
  target.searchParams.delete('batch');
  const slash = target.pathname.lastIndexOf('/');
  const paths = target.pathname.slice(slash + 1).split(',');
  const keys = (new Headers(init.headers).get(KEY_HEADER) ?? '').split(',').map((k) => k.trim());
  const inputs = (typeof init.body === 'string' && init.body !== '' ? JSON.parse(init.body) : {}) as Record<
    string,
    unknown
  >;
  const answers = await Promise.all(
    paths.map(async (path, i) => {
      const one = new URL(target);
      one.pathname = `${target.pathname.slice(0, slash + 1)}${path}`;
      const headers = new Headers(init.headers);
      headers.set(KEY_HEADER, keys[i] ?? '');
      const input = inputs[i];
      const res = await send(one.href, {
        ...init,
        headers,
        body: input === undefined ? null : JSON.stringify(input),
      });
      return { status: res.status, text: await res.text(), res };
    }),
  );
  // An answer that is not one call's JSON (a proxy's error page) is the batch's answer, as it would have been.
  for (const a of answers) {
    try {
      const json = JSON.parse(a.text) as unknown;
      if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error('not a call');
    } catch {
      return new Response(a.text, { status: a.status, headers: a.res.headers });
    }
  }
  const statuses = new Set(answers.map((a) => a.status));
  return new Response(`[${answers.map((a) => a.text).join(',')}]`, {
    status: statuses.size === 1 ? answers[0]!.status : 207,
    headers: { 'content-type': 'application/json' },
  });
}
