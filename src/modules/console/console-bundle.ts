import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The console's browser code is TypeScript under `web/` (its own tsconfig, DOM types), bundled by
 * esbuild into one script served as /console/assets/console.js:
 * - `npm run build` writes the bundle next to the compiled controller
 *   (dist/modules/console/web/console.js), so production needs no bundler at run time;
 * - without that file (ts-jest, `nest start`, a `nest build` without the step) the server bundles
 *   the sources once, in memory, on the first request (esbuild, a dev dependency).
 */
export const BUNDLE_NAME = 'console.js';

/** The bundle written by the build, beside the compiled module. */
export function prebuiltBundlePath(moduleDir: string): string {
  return join(moduleDir, 'web', BUNDLE_NAME);
}

/** The entry point of the browser code: in src, next to this file or from the working directory. */
export function consoleEntry(moduleDir: string): string {
  const candidates = [
    join(moduleDir, 'web', 'main.ts'),
    join(process.cwd(), 'src', 'modules', 'console', 'web', 'main.ts'),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`console sources not found (looked at ${candidates.join(', ')})`);
  return found;
}

/** Bundles the console's browser code into one IIFE script (ES2020, no eval, no inline code). */
export async function bundleConsole(entry: string): Promise<string> {
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    charset: 'utf8',
    legalComments: 'none',
    tsconfig: join(dirname(entry), 'tsconfig.json'),
    logLevel: 'silent',
  });
  return out.outputFiles[0].text;
}

/** The script to serve: the prebuilt bundle when there is one, else bundled from the sources. */
export async function consoleScript(moduleDir: string): Promise<string> {
  const prebuilt = prebuiltBundlePath(moduleDir);
  if (existsSync(prebuilt)) return readFileSync(prebuilt, 'utf8');
  return bundleConsole(consoleEntry(moduleDir));
}

/** `node dist/modules/console/console-bundle.js`: the build step writing the bundle into dist. */
async function main(): Promise<void> {
  const target = prebuiltBundlePath(__dirname);
  const code = await bundleConsole(consoleEntry(__dirname));
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, code);
  process.stdout.write(`console bundle: ${target} (${code.length} bytes)\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`console bundle failed: ${String(err)}\n`);
    process.exit(1);
  });
}
