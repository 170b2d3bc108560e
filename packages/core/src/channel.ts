import type { z } from 'zod';

/**
 * An event channel: a name and the zod schema its payloads follow. Channels
 * are plain values, shared by the router (the contract) and the code that
 * publishes.
 */
export interface Channel<S extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly schema: S;
}

/** The payload type a channel delivers. */
export type ChannelPayload<C extends Channel> = z.output<C['schema']>;

const CHANNEL_NAME = /^[A-Za-z0-9_.:/-]{1,200}$/;

/**
 * Declares an event channel.
 *
 * @example
 * const readings = defineChannel('weather.readings', z.object({ city: z.string(), celsius: z.number() }));
 */
export function defineChannel<S extends z.ZodType>(name: string, schema: S): Channel<S> {
  if (!CHANNEL_NAME.test(name)) {
    throw new TypeError(`channel name "${name}" must be 1-200 characters of letters, digits and _ . : / -`);
  }
  return Object.freeze({ name, schema });
}
