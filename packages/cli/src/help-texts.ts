// The long help of each command. It lives apart from the commands so that
// `corbel --help` and `corbel <command> --help` load none of the client stack:
// the command modules are imported only when their action runs.
import { VERSION } from './version.js';

export const CALL_HELP = `
Runs a query or a mutation and prints its result: readable and colourized on a
terminal, plain JSON when piped or with --json. Whether the procedure is a
query or a mutation is found out from the server (a GET, which a mutation
refuses before running) unless --query or --mutation says so.

The input is JSON: the argument, --input-file <file> ("-" for stdin), or
whatever is piped to stdin.

Examples:
  $ corbel call http://127.0.0.1:4000 weather.report '{"city":"Oslo","celsius":-3}'
  { id: '9f2c41d0-1' }
  $ corbel call http://127.0.0.1:4000 weather.latest '{"city":"Oslo"}'
  { city: 'Oslo', celsius: -3, at: 2026-11-22T00:49:29.838Z }
  $ echo '{"city":"Oslo"}' | corbel call http://127.0.0.1:4000 weather.latest --json | jq .celsius
  $ CORBEL_TOKEN=s3cret corbel call https://station:4443 weather.latest --input-file q.json --ca ca.pem`;

export const LISTEN_HELP = `
Streams a channel's events as they arrive, one line each: the event id, then
the event (with --json, one JSON object {"id","data"} per line). Connection
state (connecting, live, reconnecting) goes to stderr. After a disconnect it
reconnects and resumes after the last id it printed, so nothing is missed or
repeated. --since <id> starts after an id you saved (exit status 9 when the
server no longer has the events after it). Ctrl-C stops it, prints how many
events it received and exits 0.

Examples:
  $ corbel listen http://127.0.0.1:4000 weather.readings
  connecting to http://127.0.0.1:4000/rpc/weather.readings…
  live
  9f2c41d0-1  { city: 'Oslo', celsius: -3, at: 2026-11-22T00:49:29.838Z }
  $ corbel listen http://127.0.0.1:4000 weather.readings '{"city":"Oslo"}' --count 1 --json
  {"id":"9f2c41d0-2","data":{"city":"Oslo","celsius":-2,"at":"2026-11-22T00:50:02.120Z"}}
  $ corbel listen http://127.0.0.1:4000 weather.readings --since 9f2c41d0-2`;

export const CONTRACT_EXPORT_HELP = `
Writes a service's contract as JSON: every command and event channel, its
kind, input/output JSON Schema (superjson types tagged "x-superjson"), and
whether its events resume by id. The source is a module exporting
\`contractSource = { service, router, events }\` (or a router), or a URL that
serves a contract document.

Examples:
  $ corbel contract export apps/weather/src/contract.ts -o weather.contract.json
  $ corbel contract export ./src/router.ts --service billing > billing.contract.json`;

export const CONTRACT_DIFF_HELP = `
Compares two contracts (JSON files, modules or URLs) from both sides — old
clients calling a new server, and new clients reaching a server not yet
upgraded — and prints one line per change saying whether it breaks whom and
why. Exit status 1 when any change is breaking, 0 otherwise.

Examples:
  $ corbel contract diff proto-docs/services/weather.contract.json apps/weather/src/contract.ts
  BREAKING   weather.report input.station: required field "station" added — breaks old clients: they do not send it, so the new server refuses calls they still make (400 BAD_REQUEST)
  1 breaking, 0 compatible changes
  $ corbel contract diff old.json new.json --json | jq '.changes[] | select(.severity == "breaking")'`;

export const DOCS_HELP = `
Writes human-readable docs (<service>.md: every command and event channel with
its input, output, an example on the wire and its errors) and the contract
(<service>.contract.json) for a service module. In this repository
\`npm run docs\` does the same for every app into proto-docs/services/.

Examples:
  $ corbel docs apps/weather/src/contract.ts -o ./docs
  wrote docs/weather.md
  wrote docs/weather.contract.json`;

export const SESSIONS_HELP = `
Lists the server's live sessions (who is connected, since when, last seen,
open streams) from its "session.list" query. Servers without sessions answer
with exit status 5 and say so.

Examples:
  $ corbel sessions http://127.0.0.1:4000 --token s3cret
  SESSION   OWNER   SINCE                 LAST SEEN  EXPIRES IN  STREAMS
  3fa9c2e1  alice   2026-11-22T00:40:12Z  2s ago     30m         1
  1 live session
  $ corbel sessions http://127.0.0.1:4000 --json | jq length`;

export const NEW_HELP = `
Creates a Corbel service the way a team lays one out: npm workspaces for the
shared contract (contract/), the server (server/, events kept in SQLite) and a
client (client/), a conformance test (test/), and a demo (scripts/demo.mjs).
The directory must not exist or be empty. The package name defaults to the
directory's name; the workspaces are <name>-contract, <name>-server and
<name>-client.

The Corbel packages come from the npm registry (^${VERSION}), or with
--packages from a directory of tarballs made by "npm pack" (corbel-core-<version>.tgz,
corbel-server-…, corbel-client-…, corbel-store-sqlite-…, corbel-testing-…).

Examples:
  $ corbel new chat
  $ corbel new services/chat --name @acme/chat
  $ npm pack --workspaces --pack-destination /tmp/tgz && corbel new /tmp/chat --packages /tmp/tgz
  $ cd chat && npm install && npm start`;
