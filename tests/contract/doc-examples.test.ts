/**
 * Every `@example` in the packages' doc comments compiles. Each example is
 * appended to its own source file inside a function, so it sees that module's
 * imports and helpers; the public exports of every Corbel entry and the names
 * of doc-examples/prelude.ts are globals. One program, the repository's
 * tsconfig (strict, exactOptionalPropertyTypes): an example that calls an API
 * with the wrong shape, or a name that no longer exists, fails here with its
 * file and first line.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const PRELUDE = join(import.meta.dirname, 'doc-examples/prelude.ts');
const GLOBALS = join(import.meta.dirname, 'doc-examples/__entry-globals.ts');
const ENTRIES = [
  '@corbel/core',
  '@corbel/core/contract',
  '@corbel/server',
  '@corbel/client',
  '@corbel/store-sqlite',
  '@corbel/store-redis',
  '@corbel/testing',
];

interface Example {
  file: string;
  firstLine: string;
  start: number;
  end: number;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

/** The text of each `@example` tag: the comment lines after it, up to the next tag or the end. */
const EXAMPLE = /@example[ \t]*\n((?:[ \t]*\*(?!\/).*\n)+?)[ \t]*\*(?:[ \t]*@|\/)/g;

function withExamples(files: string[]) {
  const texts = new Map<string, string>();
  const examples: Example[] = [];
  let n = 0;
  for (const file of files) {
    const source = readFileSync(file, 'utf8');
    // Value imports in place of type-only ones, so an example may use what its module only
    // names as a type (`z.object(...)`); the diagnostics this adds outside examples are not read.
    const base = source.replace(/^import type /gm, 'import ');
    let extra = '';
    for (const match of source.matchAll(EXAMPLE)) {
      const body = match[1]!
        .split('\n')
        .map((line) => line.replace(/^\s*\* ?/, ''))
        // An example shows a module's declaration; inside the function it is a local one.
        .map((line) => line.replace(/^export (const|function|type|interface) /, '$1 '))
        .join('\n');
      const head = `\n;async function __example_${n++}() {\n`;
      const start = base.length + extra.length + head.length;
      extra += `${head}${body}\n}\n`;
      examples.push({ file, firstLine: body.trim().split('\n')[0]!, start, end: base.length + extra.length });
    }
    if (extra) texts.set(file, base + extra);
  }
  return { texts, examples };
}

/** `declare global` of every export of the entries, values and types alike. */
function entryGlobals(options: ts.CompilerOptions): string {
  const probe = join(import.meta.dirname, 'doc-examples/__probe.ts');
  const probeText = `${ENTRIES.map((e, i) => `import * as m${i} from '${e}';`).join('\n')}\nexport {};\n`;
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile;
  host.getSourceFile = (name, lang, ...rest) =>
    name === probe ? ts.createSourceFile(name, probeText, lang) : read.call(host, name, lang, ...rest);
  const program = ts.createProgram([probe], options, host);
  const checker = program.getTypeChecker();
  const seen = new Set<string>();
  const lines: string[] = [];
  program.getSourceFile(probe)!.statements.forEach((statement, i) => {
    if (!ts.isImportDeclaration(statement)) return;
    const module = checker.getSymbolAtLocation(statement.moduleSpecifier)!;
    for (const exported of checker.getExportsOfModule(module)) {
      if (seen.has(exported.name)) continue;
      seen.add(exported.name);
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const from = `import('${ENTRIES[i]}')`;
      if (target.flags & ts.SymbolFlags.Value)
        lines.push(`  var ${exported.name}: typeof ${from}.${exported.name};`);
      const generic = (target.declarations ?? []).some(
        (d) => (ts.isTypeAliasDeclaration(d) || ts.isInterfaceDeclaration(d)) && d.typeParameters,
      );
      // Generic types stay out (their constraints would need restating); examples annotate with plain ones.
      if (target.flags & ts.SymbolFlags.Type && !(target.flags & ts.SymbolFlags.Class) && !generic) {
        lines.push(`  type ${exported.name} = ${from}.${exported.name};`);
      }
    }
  });
  return `declare global {\n${lines.join('\n')}\n}\nexport {};\n`;
}

describe('the @example blocks of the packages', () => {
  it('compile against the real APIs', { timeout: 120_000 }, () => {
    const config = ts.getParsedCommandLineOfConfigFile(
      join(ROOT, 'tsconfig.json'),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
        },
      },
    )!;
    const options = { ...config.options, noEmit: true, noUnusedLocals: false, noUnusedParameters: false };
    const files = readdirSync(join(ROOT, 'packages')).flatMap((pkg) => {
      const src = join(ROOT, 'packages', pkg, 'src');
      return statSync(src, { throwIfNoEntry: false })?.isDirectory() ? sourceFiles(src) : [];
    });
    const { texts, examples } = withExamples(files);
    expect(examples.length).toBeGreaterThan(100);
    texts.set(GLOBALS, entryGlobals(options));

    const host = ts.createCompilerHost(options);
    const read = host.getSourceFile;
    host.getSourceFile = (name, lang, ...rest) =>
      texts.has(name)
        ? ts.createSourceFile(name, texts.get(name)!, lang)
        : read.call(host, name, lang, ...rest);
    const program = ts.createProgram([PRELUDE, GLOBALS, ...texts.keys()], options, host);

    const setup = [PRELUDE, GLOBALS].flatMap((f) =>
      ts.getPreEmitDiagnostics(program, program.getSourceFile(f)),
    );
    expect(setup.map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '))).toEqual([]);

    const failures: string[] = [];
    for (const example of examples) {
      const source = program.getSourceFile(example.file)!;
      const problems = [
        ...program.getSyntacticDiagnostics(source),
        ...program.getSemanticDiagnostics(source),
      ].filter((d) => d.start !== undefined && d.start >= example.start && d.start < example.end);
      if (problems.length > 0) {
        const what = ts.flattenDiagnosticMessageText(problems[0]!.messageText, ' ');
        failures.push(`${relative(ROOT, example.file)}: ${example.firstLine}\n    ${what}`);
      }
    }
    expect(failures, `${failures.length} of ${examples.length} examples do not compile`).toEqual([]);
  });
});
