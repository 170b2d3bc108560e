// Must NOT compile: the contract says `text` is a string.
import { createCorbelClient } from '@corbel/client';
import type { AppRouter } from './contract.js';

const client = createCorbelClient<AppRouter>({ url: 'http://127.0.0.1:4000' });
await client.notes.post.mutate({ text: 42 });
