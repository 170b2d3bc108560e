import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { boardReadingIds, portOf, report, startBoard, startStation, until } from './station-helpers.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'corbel-board-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const printed = (lines: readonly string[], city: string) => lines.some((l) => l.includes(` ${city} `));

describe('a board across station restarts (SQLite under --data)', () => {
  it('resumes after a SIGKILL of the station without missing or repeating a reading, and gets a welcome-back note', async () => {
    const dataDir = tempDir();
    let station = await startStation(dataDir);
    const port = portOf(station.ready);
    await using board = await startBoard(station.ready);
    try {
      for (const city of ['Before1', 'Before2', 'Before3'])
        expect(await report(station.ready, city, 1)).not.toBeNull();
      await until(() => printed(board.lines, 'Before3'), {
        what: 'the board to print the first readings',
        timeoutMs: 30_000,
      });

      station.child.kill('SIGKILL');
      await station.exited;
      station = await startStation(dataDir, port);
      // Reported while the board is still reconnecting: it must get them by replay.
      for (const city of ['After1', 'After2', 'After3'])
        expect(await report(station.ready, city, 2)).not.toBeNull();
      await until(() => printed(board.lines, 'After3'), {
        what: 'the board to print the readings after the restart',
        timeoutMs: 30_000,
      });
      await until(
        () =>
          board.lines.some((l) =>
            /-- note from the station: welcome back — you missed \d+ readings?/.test(l),
          ),
        { what: 'the welcome-back note', timeoutMs: 30_000 },
      );

      const ids = boardReadingIds(board.lines);
      expect(ids).toHaveLength(6);
      expect(new Set(ids).size).toBe(6);
      const seqs = ids.map((id) => Number(id.split('-')[1]));
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      const cities = board.lines.filter((l) => /^\[/.test(l)).map((l) => l.split(' ')[1]);
      expect(cities).toEqual(['Before1', 'Before2', 'Before3', 'After1', 'After2', 'After3']);
      expect(board.lines.some((l) => l.includes('history gone'))).toBe(false);
    } finally {
      await station.stop();
    }
  });

  it('says "history gone" when its resume id is older than retention, then resyncs from weather.latest', async () => {
    const dataDir = tempDir();
    let station = await startStation(dataDir, 0, ['--retain', '5']);
    const port = portOf(station.ready);
    await using board = await startBoard(station.ready);
    try {
      expect(await report(station.ready, 'Oslo', -3)).not.toBeNull();
      await until(() => printed(board.lines, 'Oslo'), { what: 'the first reading', timeoutMs: 30_000 });

      // Freeze the board, restart the station and report more than it keeps.
      board.child.kill('SIGSTOP');
      await station.stop();
      station = await startStation(dataDir, port, ['--retain', '5']);
      for (let i = 0; i < 8; i++)
        expect(await report(station.ready, i % 2 ? 'Bergen' : 'Oslo', i)).not.toBeNull();
      board.child.kill('SIGCONT');

      await until(() => board.lines.some((l) => l.includes('-- history gone')), {
        what: 'the history-gone message',
        timeoutMs: 30_000,
      });
      await until(() => board.lines.some((l) => /-- resynced from weather\.latest: .* Oslo 6 °C/.test(l)), {
        what: 'the resync from weather.latest',
        timeoutMs: 30_000,
      });
      await until(() => board.lines.some((l) => /-- resynced \d+ cit/.test(l)), {
        what: 'the end of the resync',
        timeoutMs: 30_000,
      });
      // Live again afterwards.
      expect(await report(station.ready, 'Oslo', 42)).not.toBeNull();
      await until(() => board.lines.some((l) => / Oslo 42 °C {2}#/.test(l)), {
        what: 'a live reading after the resync',
        timeoutMs: 30_000,
      });
    } finally {
      board.child.kill('SIGCONT');
      await station.stop();
    }
  });
});
