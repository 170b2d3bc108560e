import { describe, expect, it } from 'vitest';
import {
  EventLog,
  hangPlan,
  type ScriptedRouter,
  startScriptedServer,
  until,
} from '../../test/sse-server.js';
import { watchTimerLag } from '../../test/timer-lag.js';
import { createCorbelClient } from '../client.js';
import type { StateChange } from './state-link.js';

describe('autoTransportLink', () => {
  it('switches a held-back stream to long polls from the last id, then back to the stream, losing and repeating nothing', async () => {
    await using server = await startScriptedServer();
    // The first stream is held back (a buffering proxy: not even its headers arrive).
    server.plans.push(hangPlan);
    const changes: StateChange[] = [];
    const client = createCorbelClient<ScriptedRouter>({
      url: server.url,
      // 1 s, not less: client and server share this process, and a stall that long
      // runs the held-back timer before a healthy stream's connected frame is read.
      heldBackMs: 1000,
      sseRetryMs: 600,
      longPollWaitMs: 200,
      maxReconnectDelayMs: 50,
      onStateChange: (c) => changes.push(c),
    });
    server.log.publish(1);
    const ids: string[] = [];
    const sub = client.ticks.subscribe({ lastEventId: 'e-1' }, { onData: ({ id }) => ids.push(id) });
    try {
      await until(
        () => changes.some((c) => c.state === 'live' && c.transport === 'long-poll'),
        'live on polls',
      );
      expect(server.pollRequests()[0]!.resumeId).toBe('e-1');
      server.log.publish(2);
      server.log.publish(3);
      await until(() => ids.length === 2, 'two events by poll');
      await until(
        () => changes.some((c) => c.state === 'live' && c.transport === 'sse'),
        'back on the stream',
        5000,
      );
      server.log.publish(4);
      await until(() => ids.length === 3, 'an event on the stream');
      expect(ids).toEqual(['e-2', 'e-3', 'e-4']);
      const streams = server.streamRequests();
      expect(streams).toHaveLength(2);
      expect(streams[1]!.resumeId).toBe('e-3');
      const held = changes.find((c) => c.transport === 'long-poll' && c.state === 'reconnecting');
      expect(held?.error?.message).toMatch(/held back|sent nothing/);
    } finally {
      sub.unsubscribe();
    }
  });

  it('a subscription without an id asks for the newest id first, so a stream held back from the start loses nothing', async () => {
    await using server = await startScriptedServer();
    server.log.publish(1);
    server.plans.push(hangPlan);
    const client = createCorbelClient<ScriptedRouter>({
      url: server.url,
      heldBackMs: 300,
      longPollWaitMs: 200,
      maxReconnectDelayMs: 50,
    });
    const ids: string[] = [];
    const sub = client.ticks.subscribe(undefined, { onData: ({ id }) => ids.push(id) });
    try {
      await until(() => server.streamRequests().length === 1, 'the stream attempt');
      // Published while the stream is held back: the polls that take over start from e-1.
      server.log.publish(2);
      await until(() => ids.length === 1, 'the event');
      expect(ids).toEqual(['e-2']);
      const [opening] = server.pollRequests();
      expect([opening!.query.get('wait'), opening!.resumeId]).toEqual(['0', undefined]);
      expect(server.streamRequests()[0]!.resumeId).toBe('e-1');
    } finally {
      sub.unsubscribe();
    }
  });

  it('an opening poll answered after the stream was held back: the polls start from its id', async () => {
    await using server = await startScriptedServer();
    server.log.publish(1);
    server.plans.push(hangPlan);
    // Made when it arrives (e-1 is the newest id), delivered after the stream has started.
    server.pollDelays.push(400);
    const changes: StateChange[] = [];
    const client = createCorbelClient<ScriptedRouter>({
      url: server.url,
      heldBackMs: 300,
      longPollWaitMs: 200,
      maxReconnectDelayMs: 50,
      onStateChange: (c) => changes.push(c),
    });
    const ids: string[] = [];
    const sub = client.ticks.subscribe(undefined, { onData: ({ id }) => ids.push(id) });
    try {
      await until(() => server.streamRequests().length === 1, 'the stream attempt');
      expect(server.streamRequests()[0]!.resumeId).toBeUndefined();
      server.log.publish(2);
      server.log.publish(3);
      await until(
        () => changes.some((c) => c.state === 'live' && c.transport === 'long-poll'),
        'live on polls',
      );
      server.log.publish(4);
      await until(() => ids.length === 3, 'three events');
      expect(ids).toEqual(['e-2', 'e-3', 'e-4']);
      expect(server.pollRequests()[1]!.resumeId).toBe('e-1');
    } finally {
      sub.unsubscribe();
    }
  });

  it('while the opening poll is unanswered too, a silent stream is tried again, not replaced by polls', async () => {
    await using server = await startScriptedServer();
    server.log.publish(1);
    for (let i = 0; i < 20; i++) server.plans.push(hangPlan);
    server.pollDelays.push(1500);
    const changes: StateChange[] = [];
    const client = createCorbelClient<ScriptedRouter>({
      url: server.url,
      heldBackMs: 300,
      longPollWaitMs: 200,
      maxReconnectDelayMs: 50,
      onStateChange: (c) => changes.push(c),
    });
    const ids: string[] = [];
    const sub = client.ticks.subscribe(undefined, { onData: ({ id }) => ids.push(id) });
    try {
      await until(() => server.streamRequests().length === 2, 'the stream tried again');
      expect(server.pollRequests()).toHaveLength(1);
      server.log.publish(2);
      // Once the opening poll is answered (e-1), the next silence switches to polls from there.
      await until(
        () => changes.some((c) => c.state === 'live' && c.transport === 'long-poll'),
        'live on polls',
      );
      await until(() => ids.length === 1, 'the event published before the polls began');
      expect(ids).toEqual(['e-2']);
      expect(server.pollRequests()[1]!.resumeId).toBe('e-1');
      expect(changes.find((c) => c.state === 'reconnecting')?.error?.message).toMatch(/neither/);
    } finally {
      sub.unsubscribe();
    }
  });

  it('an instance that answers nothing at all is left for the next one, on the stream', async () => {
    const log = new EventLog();
    await using a = await startScriptedServer({ log });
    await using b = await startScriptedServer({ log });
    a.defaultPlan = hangPlan;
    a.pollDelays.push(60_000);
    const changes: StateChange[] = [];
    const client = createCorbelClient<ScriptedRouter>({
      url: [a.url, b.url],
      // 1 s, not less: client and server share this process, and a stall that long
      // runs the held-back timer before a healthy stream's connected frame is read.
      heldBackMs: 1000,
      maxReconnectDelayMs: 50,
      onStateChange: (c) => changes.push(c),
    });
    const ids: string[] = [];
    const sub = client.ticks.subscribe(undefined, { onData: ({ id }) => ids.push(id) });
    try {
      await until(() => changes.some((c) => c.state === 'live'), 'live');
      expect(changes.filter((c) => c.state === 'live').map((c) => c.transport)).toEqual(['sse']);
      log.publish(1);
      await until(() => ids.length === 1, 'the event, from b');
      expect(b.streamRequests()).toHaveLength(1);
      expect(b.pollRequests()).toHaveLength(0);
    } finally {
      sub.unsubscribe();
    }
  });

  it('an opening poll answered after the stream connected: the stream connects again from its id', async () => {
    await using server = await startScriptedServer();
    server.log.publish(1);
    // The stream connects long before the poll's answer (1.2 s) and well within heldBackMs (1 s): a stall in
    // this shared process shorter than that leaves the order as it is.
    server.pollDelays.push(1200);
    const client = createCorbelClient<ScriptedRouter>({ url: server.url, heldBackMs: 1000 });
    const ids: string[] = [];
    const sub = client.ticks.subscribe(undefined, { onData: ({ id }) => ids.push(id) });
    try {
      await until(() => server.pollRequests().length === 1, 'the opening poll');
      // Published after the subscription opened, before the stream (started without an id) did.
      server.log.publish(2);
      await until(() => ids.length === 1, 'the event');
      expect(ids).toEqual(['e-2']);
      const streams = server.streamRequests();
      expect(streams.map((r) => r.resumeId)).toEqual([undefined, 'e-1']);
      server.log.publish(3);
      await until(() => ids.length === 2, 'the next event');
      expect(ids).toEqual(['e-2', 'e-3']);
    } finally {
      sub.unsubscribe();
    }
  });

  it('stays on a stream that connects in time', async () => {
    await using server = await startScriptedServer();
    // Client and server share this process: a stall of 300 ms (a loaded
    // machine) runs the held-back timer before the socket holding the
    // connected frame is read, and rightly switches to polls. So only a round
    // whose own timers never fell 150 ms behind counts, and one of three must
    // be clean and stay on the stream. Were the timer left running after the
    // connect, every clean round would switch.
    const cleanRounds: { polls: number; ids: string[]; changes: unknown[] }[] = [];
    for (let round = 1; round <= 3 && cleanRounds.length === 0; round++) {
      const changes: StateChange[] = [];
      const client = createCorbelClient<ScriptedRouter>({
        url: server.url,
        heldBackMs: 300,
        onStateChange: (c) => changes.push(c),
      });
      const ids: string[] = [];
      const polls = server.pollRequests().length;
      const lag = watchTimerLag();
      const after = round === 1 ? '0' : `e-${round - 1}`;
      const sub = client.ticks.subscribe({ lastEventId: after }, { onData: ({ id }) => ids.push(id) });
      try {
        await until(() => changes.some((c) => c.state === 'live'), 'live');
        await new Promise((resolve) => setTimeout(resolve, 600));
        server.log.publish(round);
        await until(() => ids.length === 1, 'the event');
        const seen = {
          polls: server.pollRequests().length - polls,
          ids: [...ids],
          changes: changes.map((c) => [c.state, c.transport]),
        };
        if (lag() < 150) cleanRounds.push(seen);
      } finally {
        sub.unsubscribe();
      }
    }
    expect(cleanRounds).toHaveLength(1);
    expect(cleanRounds[0]!.polls).toBe(0);
    expect(cleanRounds[0]!.ids).toHaveLength(1);
    expect(cleanRounds[0]!.changes).toEqual([
      ['connecting', undefined],
      ['live', 'sse'],
    ]);
  });
});
