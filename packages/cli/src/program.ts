import { Command, Option } from 'commander';
import { EXIT, EXIT_HELP } from './exit-codes.js';
import {
  CALL_HELP,
  CONTRACT_DIFF_HELP,
  CONTRACT_EXPORT_HELP,
  DOCS_HELP,
  LISTEN_HELP,
  NEW_HELP,
  SESSIONS_HELP,
} from './help-texts.js';
import { VERSION } from './version.js';

const EXAMPLES = `
Examples:
  $ corbel call http://127.0.0.1:4000 weather.report '{"city":"Oslo","celsius":-3}'
  $ corbel listen http://127.0.0.1:4000 weather.readings --count 10
  $ corbel contract diff old.contract.json apps/weather/src/contract.ts
  $ corbel sessions http://127.0.0.1:4000 --token s3cret
  $ corbel new chat && cd chat && npm install && npm start

Run "corbel <command> --help" for a command's options and examples.`;

/** What running the program produced: the exit status its command chose. */
export interface RunState {
  exitCode: number;
}

/**
 * The `corbel` command line, built on commander. Actions store their exit
 * status in `state`; errors propagate to `main`, which prints one line.
 *
 * @example
 * const state = { exitCode: 0 };
 * await createProgram(state).parseAsync(['node', 'corbel', 'call', url, 'weather.latest', '{"city":"Oslo"}']);
 */
export function createProgram(state: RunState): Command {
  const program = new Command('corbel')
    .description('Call, listen to and check Corbel services from a shell.')
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .option('--token <token>', 'bearer token sent on every request and stream (default: $CORBEL_TOKEN)')
    .option('--ca <file>', 'trust this CA certificate (PEM) for https:// servers')
    .option('--debug', 'show stack traces on errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText('after', `${EXAMPLES}\n\n${EXIT_HELP}`);

  const network = (cmd: Command) =>
    cmd
      .option('--timeout <ms>', 'fail commands that take longer (default 30000)')
      .addOption(new Option('--base-path <path>', 'where the server mounts its procedures').default('/rpc'));

  network(
    program
      .command('call')
      .description('run a query or mutation and print its result')
      .argument('<url>', 'the server, e.g. http://127.0.0.1:4000')
      .argument('<procedure>', 'the procedure path, e.g. weather.report')
      .argument('[json-input]', 'the input as JSON ("-" reads stdin)')
      .option('--query', 'it is a query (skip finding out)')
      .option('--mutation', 'it is a mutation (skip finding out)')
      .option('--input-file <file>', 'read the JSON input from a file ("-" for stdin)')
      .option('--json', 'print plain JSON (the default when stdout is not a terminal)')
      .addHelpText('after', CALL_HELP),
  ).action(async (url, path, input, _opts, cmd: Command) => {
    const { callCommand } = await import('./commands/call.js');
    await callCommand(url, path, input, cmd.optsWithGlobals());
  });

  network(
    program
      .command('listen')
      .description("stream a channel's events, resuming by id across disconnects")
      .argument('<url>', 'the server, e.g. http://127.0.0.1:4000')
      .argument('<channel>', 'the subscription path, e.g. weather.readings')
      .argument('[json-input]', 'the input as JSON, e.g. a filter: \'{"city":"Oslo"}\'')
      .option('--since <id>', 'start after this event id (resume)')
      .option('--count <n>', 'exit after N events')
      .option('--input-file <file>', 'read the JSON input from a file ("-" for stdin)')
      .option('--json', 'one JSON object {"id","data"} per line')
      .option('-q, --quiet', 'no connection state on stderr')
      .option('--transport <kind>', 'auto (default), sse or long-poll: how events travel')
      .option(
        '--durable <name>',
        'listen as the durable consumer <name>: the server keeps what was printed; run again with the same name to print only what was not',
      )
      .addHelpText('after', LISTEN_HELP),
  ).action(async (url, path, input, _opts, cmd: Command) => {
    const { listenCommand } = await import('./commands/listen.js');
    await listenCommand(url, path, input, cmd.optsWithGlobals());
  });

  const contract = program
    .command('contract')
    .description('export and compare service contracts')
    .addHelpText(
      'after',
      `
Examples:
  $ corbel contract export apps/weather/src/contract.ts -o weather.contract.json
  $ corbel contract export http://127.0.0.1:4000 --token s3cret
  $ corbel contract diff proto-docs/services/weather.contract.json http://127.0.0.1:4000

Run "corbel contract <subcommand> --help" for each subcommand's options.`,
    );
  contract
    .command('export')
    .description("write a service's contract as JSON")
    .argument(
      '<module-or-url>',
      'a module exporting contractSource (or a router), or a URL serving a contract',
    )
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .option('--service <name>', 'the service name (for a module exporting a bare router)')
    .addHelpText('after', CONTRACT_EXPORT_HELP)
    .action(async (spec, _opts, cmd: Command) => {
      const { contractExportCommand } = await import('./commands/contract.js');
      await contractExportCommand(spec, cmd.optsWithGlobals());
    });
  contract
    .command('diff')
    .description('classify the changes between two contracts as breaking or compatible')
    .argument('<old>', 'the old contract: a .json file, a module or a URL')
    .argument('<new>', 'the new contract: a .json file, a module or a URL')
    .option('--json', 'print the changes as JSON')
    .addHelpText('after', CONTRACT_DIFF_HELP)
    .action(async (oldSpec, newSpec, _opts, cmd: Command) => {
      const { contractDiffCommand } = await import('./commands/contract.js');
      state.exitCode = await contractDiffCommand(oldSpec, newSpec, cmd.optsWithGlobals());
    });

  program
    .command('docs')
    .description('write markdown docs and the contract JSON for a service module')
    .argument('<module>', 'a module exporting contractSource (or a router)')
    .option('-o, --output <dir>', 'the directory to write into')
    .option('--service <name>', 'the service name (for a module exporting a bare router)')
    .addHelpText('after', DOCS_HELP)
    .action(async (spec, _opts, cmd: Command) => {
      const { docsCommand } = await import('./commands/docs.js');
      await docsCommand(spec, cmd.optsWithGlobals());
    });

  network(
    program
      .command('sessions')
      .description("list the server's live sessions")
      .argument('<url>', 'the server, e.g. http://127.0.0.1:4000')
      .option('--procedure <path>', 'the sessions list query (default session.list)')
      .option('--json', 'print plain JSON')
      .addHelpText('after', SESSIONS_HELP),
  ).action(async (url, _opts, cmd: Command) => {
    const { sessionsCommand } = await import('./commands/sessions.js');
    await sessionsCommand(url, cmd.optsWithGlobals());
  });

  program
    .command('new')
    .description('scaffold a service: contract, server and client workspaces, tests and a demo')
    .argument('<dir>', 'the directory to create (must not exist or be empty)')
    .option('--name <name>', "the root package's npm name (default: the directory's name)")
    .option('--packages <dir>', 'depend on the Corbel tarballs in this directory (npm pack output)')
    .addHelpText('after', NEW_HELP)
    .action(async (dir, opts) => {
      const { newCommand } = await import('./commands/new.js');
      await newCommand(dir, opts);
    });

  state.exitCode = EXIT.OK;
  return program;
}
