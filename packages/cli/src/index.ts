export { classifyError } from './classify-error.js';
export { CliError, EXIT, EXIT_HELP, type ExitCode } from './exit-codes.js';
export { parseJsonInput } from './json-input.js';
export { loadContract, loadSource } from './load-contract.js';
export { main } from './main.js';
export { createProgram } from './program.js';
export { toDisplay, toPlainJson } from './render.js';
