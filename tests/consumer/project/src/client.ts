// `node dist/client.js --url <u> [--post <text>]`: posts a note, or prints
// every note as `event <id> <text> <ISO time> <Date?>`, resuming after drops.
import { parseArgs } from 'node:util';
import { createCorbelClient } from '@corbel/client';
import type { AppRouter } from './contract.js';

const { values } = parseArgs({ options: { url: { type: 'string' }, post: { type: 'string' } } });
const client = createCorbelClient<AppRouter>({
  url: values.url ?? 'http://127.0.0.1:4000',
  onStateChange: ({ state }) => console.error(`state ${state}`),
});
if (values.post !== undefined) {
  const { id } = await client.notes.post.mutate({ text: values.post });
  console.log(`posted ${id}`);
  process.exit(0);
}
for await (const { id, data } of client.notes.feed.subscribe({})) {
  console.log(`event ${id} ${data.text} ${data.at.toISOString()} ${data.at instanceof Date}`);
}
