import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CorbelError } from '@corbel/core';
import superjson from 'superjson';
import type { JobRecord } from './job-record.js';

/** Where job checkpoints live between server runs. */
export interface JobStore {
  save(record: JobRecord): Promise<void>;
  remove(id: string): Promise<void>;
  loadAll(): Promise<JobRecord[]>;
  /** Releases the directory for the next server. */
  close(): void;
}

/**
 * One superjson file per job in `<dir>/jobs/`, replaced atomically (write a
 * temporary file, then rename), so a crash mid-write leaves the previous
 * checkpoint intact. A lock file keeps a second server off the same
 * directory (both would resume the same jobs); a lock left by a crashed
 * process is taken over.
 *
 * @example
 * const store = createFileJobStore('/var/lib/jobs');
 */
export function createFileJobStore(dir: string): JobStore {
  const root = join(dir, 'jobs');
  mkdirSync(root, { recursive: true });
  const file = (id: string) => join(root, `${id}.json`);
  const unlock = lockDirectory(join(root, '.lock'));
  return {
    close: unlock,
    async save(record) {
      const tmp = `${file(record.id)}.tmp`;
      await writeFile(tmp, superjson.stringify({ ...record, lastEventId: null }));
      await rename(tmp, file(record.id));
    },
    async remove(id) {
      await rm(file(id), { force: true });
    },
    async loadAll() {
      const out: JobRecord[] = [];
      for (const name of await readdir(root)) {
        if (!name.endsWith('.json')) continue;
        try {
          out.push(superjson.parse<JobRecord>(await readFile(join(root, name), 'utf8')));
        } catch {
          // A damaged checkpoint is skipped, not fatal: the other jobs still load.
        }
      }
      return out;
    },
  };
}

function lockDirectory(lock: string): () => void {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return () => rmSync(lock, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(lock, 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new CorbelError(
          'STORE_LOCKED',
          `the job directory ${lock.slice(0, -'/.lock'.length)} is in use by process ${owner}`,
        );
      }
      rmSync(lock, { force: true });
    }
  }
  throw new CorbelError('STORE_LOCKED', `could not lock ${lock}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
