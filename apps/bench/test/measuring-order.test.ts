import { describe, expect, it } from 'vitest';
import { COMMAND_CONTENDERS, measuringOrder } from '../src/suites/commands.js';

describe('the order command contenders are measured in', () => {
  it('measures Corbel right after the floor and right before oRPC, raw one further', () => {
    const order = measuringOrder(1, COMMAND_CONTENDERS);
    const at = (c: (typeof COMMAND_CONTENDERS)[number]) => order.indexOf(c);
    expect([...order].sort()).toEqual([...COMMAND_CONTENDERS].sort());
    expect(Math.abs(at('corbel') - at('floor'))).toBe(1);
    expect(Math.abs(at('corbel') - at('orpc'))).toBe(1);
    expect(Math.abs(at('corbel') - at('raw'))).toBe(2);
  });

  it('runs every other repetition in reverse, so drift favours neither side of a pair', () => {
    expect(measuringOrder(2, COMMAND_CONTENDERS)).toEqual(
      [...measuringOrder(1, COMMAND_CONTENDERS)].reverse(),
    );
    expect(measuringOrder(3, COMMAND_CONTENDERS)).toEqual(measuringOrder(1, COMMAND_CONTENDERS));
  });

  it('leaves out the contenders a mode skips', () => {
    expect(measuringOrder(1, ['corbel', 'trpc', 'raw'])).toEqual(['raw', 'corbel', 'trpc']);
  });
});
