/**
 * Makes every TypeScript module required after this one compile with the project's tsconfig,
 * decorator metadata included: tsx (esbuild) does not emit it, and Nest's dependency injection
 * needs it to boot the gateway (the fanout, answers and scale benches). Import it first. Transpile
 * only, one file at a time (as ts-jest with isolatedModules); type checking is `npx tsc --noEmit`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

const root = path.resolve(__dirname, '..');
const { config } = ts.readConfigFile(path.join(root, 'tsconfig.json'), ts.sys.readFile);
const { options } = ts.convertCompilerOptionsFromJson(config.compilerOptions, root);
const compilerOptions: ts.CompilerOptions = {
  ...options,
  module: ts.ModuleKind.CommonJS,
  sourceMap: false,
  inlineSourceMap: true,
};

type CompilableModule = NodeJS.Module & { _compile(code: string, filename: string): void };

// eslint-disable-next-line @typescript-eslint/no-require-imports
const extensions = (require('node:module') as { _extensions: NodeJS.RequireExtensions })
  ._extensions;
extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions, fileName: filename });
  (module as CompilableModule)._compile(outputText, filename);
};
