// `node dist/server.js --port <n> --data <dir>`: a durable server (SQLite).
import { parseArgs } from 'node:util';
import { createHub } from '@corbel/core';
import { createCorbelServer } from '@corbel/server';
import { openSqliteStore } from '@corbel/store-sqlite';
import { createRouter } from './contract.js';

const { values } = parseArgs({ options: { port: { type: 'string' }, data: { type: 'string' } } });
const store = openSqliteStore({ dataDir: values.data ?? './data' });
const server = createCorbelServer({ router: createRouter(createHub({ log: store.log })) });
const { url } = await server.listen({ port: Number(values.port ?? 0) });
console.log(`listening on ${url}`);
process.on('SIGTERM', () => {
  void server.close().then(() => store.log.close());
});
