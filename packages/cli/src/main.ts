import { CommanderError } from 'commander';
import { classifyError } from './classify-error.js';
import { EXIT } from './exit-codes.js';
import { createProgram, type RunState } from './program.js';

/**
 * Runs the CLI on `argv` and returns its exit status. Errors are printed as
 * one line (`corbel: <class>: <message>`); stacks only with --debug.
 *
 * @example
 * process.exit(await main(process.argv));
 */
export async function main(argv: string[]): Promise<number> {
  const state: RunState = { exitCode: EXIT.OK };
  const program = createProgram(state);
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv);
    return state.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not errors; commander already printed usage errors.
      if (['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code))
        return EXIT.OK;
      return EXIT.USAGE;
    }
    const cli = classifyError(error, { url: '(the server)' });
    process.stderr.write(`corbel: ${cli.label}: ${cli.message}\n`);
    if (debug) {
      const stack = (cli.cause as Error | undefined)?.stack ?? cli.stack;
      process.stderr.write(`${stack}\n`);
    } else if (cli.exitCode === EXIT.INTERNAL) {
      process.stderr.write('corbel: rerun with --debug for the stack trace\n');
    }
    return cli.exitCode;
  }
}

// Run when executed directly (node --conditions=@corbel/source --import tsx src/main.ts); bin/corbel.js calls main itself.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop()!)) {
  main(process.argv).then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`corbel: internal error: ${(error as Error)?.message ?? error}\n`);
      process.exit(EXIT.INTERNAL);
    },
  );
}
