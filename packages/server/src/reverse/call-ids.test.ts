import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCallIds, newInstanceId } from './call-ids.js';

const alice = 'a'.repeat(32);
const bob = 'b'.repeat(32);

describe('call ids', () => {
  it('verify on any instance with the same key, naming the instance that waits', () => {
    const key = randomBytes(32);
    const a = createCallIds(key, newInstanceId());
    const onA = a.mint(alice);
    const instance = onA.split('.')[0];
    expect(createCallIds(key, newInstanceId()).verify(onA, alice)).toBe(instance);
  });

  it('refuse an id minted for another session, under another key, or tampered with', () => {
    const key = randomBytes(32);
    const ids = createCallIds(key, newInstanceId());
    const id = ids.mint(alice);
    expect(ids.verify(id, bob)).toBeNull();
    expect(createCallIds(randomBytes(32), newInstanceId()).verify(id, alice)).toBeNull();
    const flipped = `${id.slice(0, -1)}${id.endsWith('0') ? '1' : '0'}`;
    expect(ids.verify(flipped, alice)).toBeNull();
    expect(ids.verify('not-a-call-id', alice)).toBeNull();
    expect(ids.mint(alice)).not.toBe(id);
  });
});
