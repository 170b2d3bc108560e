import type { ContractSource } from '@corbel/core/contract';
import { readingsChannel } from './router.js';
import { noteSchema } from './station-sessions.js';

/**
 * What the weather station's contract says beside its router: its name, a
 * description and the payload of each event channel. The station serves it
 * as `corbel.contract`; `contract.ts` exports it for `npm run docs`.
 */
export const weatherContractInfo: Omit<ContractSource, 'router'> = {
  service: 'weather',
  description:
    'The reference Corbel service: stations report temperatures, anyone reads the latest per city, and boards follow every reading as it happens. Each board may open a session with a private channel for notes from the station.',
  events: { [readingsChannel.name]: readingsChannel, 'session.messages': noteSchema },
};
