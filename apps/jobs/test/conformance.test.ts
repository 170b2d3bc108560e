import { mutationBody, rawRequest, resultData, runServerConformance, startProcess } from '@corbel/testing';

// The jobs server runs its workers from files, so it runs as its own process, as users start it.
const serverScript = new URL('../src/server.ts', import.meta.url).pathname;

let url = '';

/** Starts a small job and returns the progress stream's input: the stream runs by itself and ends. */
async function startJob(): Promise<{ jobId: string }> {
  const res = await rawRequest(`${url}/rpc/jobs.start`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: mutationBody({ kind: 'primes', upTo: 20_000 }),
  });
  if (res.status !== 200) throw new Error(`jobs.start answered ${res.status}: ${res.text}`);
  return { jobId: resultData<{ id: string }>(res.json).id };
}

runServerConformance({
  name: 'jobs server',
  start: async () => {
    const proc = await startProcess(
      process.execPath,
      ['--conditions=@corbel/source', '--import', 'tsx', serverScript, '--port', '0', '--max-workers', '1'],
      { ready: /listening on (\S+)/ },
    );
    url = proc.ready;
    return { url, close: async () => void (await proc.stop()) };
  },
  query: { path: 'jobs.list', kind: 'query', input: undefined },
  roundTrip: { path: 'jobs.list', kind: 'query', input: undefined, types: ['Date', 'bigint'] },
  invalid: { path: 'jobs.start', kind: 'mutation', input: { kind: 'primes', upTo: 1 }, field: ['upTo'] },
  events: { path: 'jobs.progress', input: startJob, goneId: '00000000-1' },
});
