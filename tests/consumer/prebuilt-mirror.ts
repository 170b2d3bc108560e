/**
 * A loopback stand-in for better-sqlite3's release downloads. On a user's
 * machine `npm install` fetches a prebuilt binary from GitHub releases through
 * prebuild-install; this sandbox reaches only the npm registry, so without a
 * mirror every consumer install compiles SQLite from source (minutes of CI).
 * The mirror serves the binary this workspace already built from the same
 * version's sources, in prebuild-install's own tarball layout, through the
 * documented `npm_config_better_sqlite3_binary_host` setting. Any other
 * version or platform gets a 404, and npm falls back to compiling, as it
 * would for a user on a platform without a prebuilt binary.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';

export interface PrebuiltMirror {
  /** Environment for npm: points prebuild-install at this mirror. */
  env: Record<string, string>;
  /** Requests answered with the binary (0 means npm compiled from source). */
  readonly served: number;
  close(): Promise<void>;
}

/** Packs `<repo>/node_modules/better-sqlite3`'s built binary and serves it on 127.0.0.1. */
export async function startPrebuiltMirror(repoRoot: string, workDir: string): Promise<PrebuiltMirror> {
  const pkgDir = join(repoRoot, 'node_modules/better-sqlite3');
  const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string };
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  const staging = join(workDir, 'prebuilt');
  mkdirSync(staging, { recursive: true });
  const tarball = join(staging, name);
  execFileSync('tar', ['czf', tarball, '-C', pkgDir, 'build/Release/better_sqlite3.node']);
  const body = readFileSync(tarball);
  const wanted = `/v${version}/${name}`;
  let served = 0;
  const server: Server = createServer((req, res) => {
    if (req.url !== wanted) {
      res.writeHead(404).end();
      return;
    }
    served++;
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    env: { npm_config_better_sqlite3_binary_host: `http://127.0.0.1:${port}` },
    get served() {
      return served;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
