import superjson from 'superjson';

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body, or undefined when it is not JSON. */
  json: any;
}

/** Sends one raw HTTP request and reads the whole answer. */
export async function rawRequest(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array } = {},
): Promise<RawResponse> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    ...(init.headers ? { headers: init.headers } : {}),
    body: init.body as any,
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** `?input=` for a GET of a tRPC procedure, superjson-encoded. */
export function queryInput(input: unknown): string {
  return `input=${encodeURIComponent(JSON.stringify(superjson.serialize(input)))}`;
}

/** A POST body for a tRPC mutation, superjson-encoded. */
export function mutationBody(input: unknown): string {
  return JSON.stringify(superjson.serialize(input));
}

/** Decodes the superjson `data` of a `{ result: { data } }` response. */
export function resultData<T = unknown>(json: any): T {
  return superjson.deserialize(json.result.data) as T;
}

/** Decodes the superjson error shape of an `{ error }` response. */
export function errorShape(json: any): { message: string; code: number; data: Record<string, any> } {
  return superjson.deserialize(json.error) as any;
}
