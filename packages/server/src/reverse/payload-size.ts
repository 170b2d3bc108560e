/**
 * The size in bytes of a value as JSON, counting Map, Set and BigInt (which
 * superjson carries) as their JSON forms: close to the wire size, without
 * depending on the transformer here.
 *
 * @example
 * payloadSize({ city: 'Oslo' }); // 15
 */
export function payloadSize(value: unknown): number {
  const text = JSON.stringify(value ?? null, (_key, v: unknown) =>
    typeof v === 'bigint' ? v.toString() : v instanceof Map ? [...v] : v instanceof Set ? [...v] : v,
  );
  return Buffer.byteLength(text ?? '');
}
