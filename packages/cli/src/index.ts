/**
 * `@corbel/cli`: the `corbel` command (bin/corbel.js). The programmatic entry
 * is for embedding the command line and loading contracts; everything else is
 * internal to the command.
 */
export { CliError, EXIT, type ExitCode } from './exit-codes.js';
export { type LoadOptions, loadContract } from './load-contract.js';
export { main } from './main.js';
