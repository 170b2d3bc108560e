import { defineHandler, defineHandlers } from '@corbel/core';
import { z } from 'zod';

/** What a board says about itself when the station asks (`board.describe`). */
export const boardDescriptionSchema = z.object({
  /** The board's `--city` filter, or null when it shows every city. */
  city: z.string().nullable(),
  /** Readings the board has printed so far. */
  received: z.number().int().min(0),
  startedAt: z.date(),
});

/**
 * The handlers every weather board implements and the station calls over the
 * board's own link (see DESIGN.md — `board.describe` is a public name).
 */
export const boardHandlers = defineHandlers({
  'board.describe': defineHandler({
    description: "The board's city filter, how many readings it has printed, and since when it runs.",
    input: z.object({}),
    output: boardDescriptionSchema,
  }),
});

/** One entry of `weather.boards`: a board's answer, or why it gave none. */
export const boardEntrySchema = z.union([
  boardDescriptionSchema.extend({ ref: z.string() }),
  z.object({ ref: z.string(), error: z.string() }),
]);
export type BoardEntry = z.output<typeof boardEntrySchema>;
