#!/usr/bin/env node
// Builds the browser sources for Node tests and benchmarks.
//
//   node web/build.mjs          # web/.build/crypto.mjs: src/crypto bundled as one ES module
//                               # (@noble/* inlined), imported by web/test, web/bench and the
//                               # interop peer. Not committed (web/.gitignore).
//   node web/build.mjs --app    # additionally runs the web app build (web/scripts/build-app.mjs,
//                               # owned by the web app), which writes the committed
//                               # src/atlas/web/dist. scripts/test-web.sh checks that one with
//                               # `node web/scripts/build-app.mjs --check` instead of rebuilding.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const web = dirname(fileURLToPath(import.meta.url));
const out = join(web, '.build');

export async function buildCrypto() {
  mkdirSync(out, { recursive: true });
  await esbuild.build({
    entryPoints: [join(web, 'src/crypto/index.ts')],
    outfile: join(out, 'crypto.mjs'),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: ['es2022'],
    sourcemap: 'linked',
    logLevel: 'warning',
    absWorkingDir: web,
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await buildCrypto();
  const app = join(web, 'scripts/build-app.mjs');
  if (process.argv.includes('--app') && existsSync(app)) {
    const { execFileSync } = await import('node:child_process');
    execFileSync(process.execPath, [app], { stdio: 'inherit' });
  }
}
