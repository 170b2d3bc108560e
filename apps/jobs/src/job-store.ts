import { mkdirSync } from 'node:fs';
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import superjson from 'superjson';
import type { JobRecord } from './job-record.js';

/** Where job checkpoints live between server runs. */
export interface JobStore {
  save(record: JobRecord): Promise<void>;
  remove(id: string): Promise<void>;
  loadAll(): Promise<JobRecord[]>;
}

/**
 * One superjson file per job in `<dir>/jobs/`, replaced atomically (write a
 * temporary file, then rename), so a crash mid-write leaves the previous
 * checkpoint intact.
 *
 * @example
 * const store = createFileJobStore('/var/lib/jobs');
 */
export function createFileJobStore(dir: string): JobStore {
  const root = join(dir, 'jobs');
  mkdirSync(root, { recursive: true });
  const file = (id: string) => join(root, `${id}.json`);
  return {
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
