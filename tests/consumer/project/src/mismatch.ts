// Serves the legacy router: the server must refuse, naming both @trpc/server copies.
import { createCorbelServer } from '@corbel/server';
// @ts-expect-error: plain JavaScript from another folder, untyped on purpose
import { router } from '../legacy/router.js';

try {
  await createCorbelServer({ router }).listen({ port: 0 });
  console.log('started (wrong)');
} catch (error) {
  console.error(`refused: ${(error as Error).message}`);
  process.exit(1);
}
