import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/** One file of the built page, ready to serve. */
export interface PageAsset {
  /** The URL path it is served at; scripts and styles carry a content hash. */
  readonly path: string;
  readonly contentType: string;
  readonly body: Buffer;
  readonly gzip: Buffer;
  readonly etag: string;
  /** True for hashed files, which never change under their name. */
  readonly immutable: boolean;
}

/** The page, built in memory. */
export interface BuiltPage {
  readonly assets: ReadonlyMap<string, PageAsset>;
  /** Bytes of html + js + css, plain and gzipped. */
  readonly size: { bytes: number; gzipBytes: number; files: Record<string, number> };
}

const pageDir = fileURLToPath(new URL('./page/', import.meta.url));

function asset(path: string, contentType: string, body: Buffer, immutable: boolean): PageAsset {
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 16);
  return { path, contentType, body, gzip: gzipSync(body, { level: 9 }), etag: `"${hash}"`, immutable };
}

/**
 * Bundles the weather page (TypeScript + CSS in `page/`) with esbuild, in
 * memory: the station builds it at start-up, so no bundle is ever committed
 * and none can be stale. Takes a few hundred milliseconds.
 *
 * @example
 * const page = await buildPage();
 * console.log(page.size.bytes, 'bytes');
 */
export async function buildPage(): Promise<BuiltPage> {
  const result = await build({
    entryPoints: [`${pageDir}main.ts`, `${pageDir}style.css`],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome111', 'firefox111', 'safari16.4'],
    legalComments: 'none',
    write: false,
    outdir: '/page-out',
    logLevel: 'silent',
  });
  let js: Buffer | undefined;
  let css: Buffer | undefined;
  for (const file of result.outputFiles) {
    if (file.path.endsWith('.js')) js = Buffer.from(file.contents);
    else if (file.path.endsWith('.css')) css = Buffer.from(file.contents);
  }
  if (!js || !css) throw new Error('esbuild produced no page script or style');
  const hashOf = (b: Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 12);
  const script = asset(`/assets/app-${hashOf(js)}.js`, 'text/javascript; charset=utf-8', js, true);
  const style = asset(`/assets/app-${hashOf(css)}.css`, 'text/css; charset=utf-8', css, true);
  const template = await readFile(`${pageDir}index.html`, 'utf8');
  const html = Buffer.from(template.replace('%STYLE%', style.path).replace('%SCRIPT%', script.path), 'utf8');
  const page = asset('/', 'text/html; charset=utf-8', html, false);
  const all = [page, script, style];
  return {
    assets: new Map(all.map((a) => [a.path, a])),
    size: {
      bytes: all.reduce((n, a) => n + a.body.length, 0),
      gzipBytes: all.reduce((n, a) => n + a.gzip.length, 0),
      files: Object.fromEntries(all.map((a) => [a.path, a.body.length])),
    },
  };
}
