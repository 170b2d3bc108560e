import { request as httpRequest } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';

export interface TlsClientOptions {
  /** Certificate authorities to trust (PEM), e.g. a private CA or a self-signed server certificate. */
  ca?: string | Buffer | (string | Buffer)[] | undefined;
  /** A client certificate and key, for servers that ask for one. */
  cert?: string | Buffer | undefined;
  key?: string | Buffer | undefined;
  /** The name the certificate must carry, when it differs from the URL's host. */
  servername?: string | undefined;
}

/**
 * A `fetch` over node:http / node:https with its own TLS trust (a CA,
 * a client certificate), for commands and for EventSource alike: Node's
 * built-in fetch takes no CA option. Keeps connections alive; response bodies
 * stream, so event streams work.
 *
 * @example
 * const client = createCorbelClient({ url: 'https://127.0.0.1:4443', tls: { ca: readFileSync('ca.pem') } });
 */
export function createNodeFetch(tls: TlsClientOptions = {}): typeof fetch {
  const agent = new Agent({ keepAlive: true, ca: tls.ca, cert: tls.cert, key: tls.key });
  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const method = init.method ?? (input instanceof Request ? input.method : 'GET');
    const headers = new Headers(input instanceof Request ? input.headers : undefined);
    for (const [k, v] of new Headers(init.headers)) headers.set(k, v);
    const body = init.body ?? undefined;
    if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
      throw new TypeError('createNodeFetch sends string or Uint8Array bodies only');
    }
    const signal = init.signal ?? undefined;
    signal?.throwIfAborted();
    return new Promise<Response>((resolve, reject) => {
      const isHttps = url.protocol === 'https:';
      const req = (isHttps ? httpsRequest : httpRequest)(
        url,
        {
          method,
          headers: Object.fromEntries(headers),
          ...(isHttps ? { agent, ...(tls.servername ? { servername: tls.servername } : {}) } : {}),
          signal,
        },
        (res) => {
          const responseHeaders = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (Array.isArray(v)) for (const item of v) responseHeaders.append(k, item);
            else if (v !== undefined) responseHeaders.set(k, v);
          }
          const status = res.statusCode ?? 500;
          const nullBody = status === 204 || status === 304 || method === 'HEAD';
          if (nullBody) res.resume();
          resolve(
            new Response(nullBody ? null : (Readable.toWeb(res) as ReadableStream), {
              status,
              statusText: res.statusMessage ?? '',
              headers: responseHeaders,
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }) as typeof fetch;
}
