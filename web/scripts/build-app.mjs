#!/usr/bin/env node
// Builds the web app into src/atlas/web/dist (committed, so `atlas serve` needs no Node).
//
// The output is deterministic: fixed names (assets/app.js, assets/app.css), no timestamps, no
// source maps, and cache-busting by content hash in index.html's query strings. That lets
// `--check` rebuild in memory and fail when the committed dist differs by a single byte.
//
//   node web/scripts/build-app.mjs           # writes src/atlas/web/dist
//   node web/scripts/build-app.mjs --check   # exits 1 when the committed dist is stale
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const web = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dist = resolve(web, "../src/atlas/web/dist");

async function bundle(entry, loader) {
  const result = await esbuild.build({
    entryPoints: [join(web, entry)],
    bundle: true,
    write: false,
    minify: true,
    format: loader === "css" ? undefined : "esm",
    platform: "browser",
    target: ["chrome111", "firefox115", "safari16"],
    legalComments: "eof",
    charset: "utf8",
    sourcemap: false,
    logLevel: "warning",
    absWorkingDir: web,
    outfile: join(web, "out", loader === "css" ? "app.css" : "app.js"),
  });
  if (result.outputFiles.length !== 1) throw new Error(`expected one output for ${entry}`);
  return result.outputFiles[0].contents;
}

function shortHash(bytes) {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 12);
}

export async function buildApp() {
  const js = await bundle("src/app/main.ts", "js");
  const css = await bundle("src/app/styles.css", "css");
  const html = readFileSync(join(web, "index.html"), "utf8")
    .replace("%APP_JS%", `/assets/app.js?v=${shortHash(js)}`)
    .replace("%APP_CSS%", `/assets/app.css?v=${shortHash(css)}`);
  return new Map([
    ["index.html", Buffer.from(html)],
    ["assets/app.js", Buffer.from(js)],
    ["assets/app.css", Buffer.from(css)],
  ]);
}

function listFiles(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else out.push(relative(dist, path).split("\\").join("/"));
  }
  return out.sort();
}

async function main() {
  const files = await buildApp();
  if (process.argv.includes("--check")) {
    const problems = [];
    for (const [name, bytes] of files) {
      const path = join(dist, name);
      if (!existsSync(path)) problems.push(`missing ${name}`);
      else if (!readFileSync(path).equals(bytes)) problems.push(`differs ${name}`);
    }
    for (const name of listFiles(dist)) if (!files.has(name)) problems.push(`unexpected ${name}`);
    if (problems.length) {
      console.error(`src/atlas/web/dist is stale (run \`node web/scripts/build-app.mjs\`):\n  ${problems.join("\n  ")}`);
      process.exit(1);
    }
    console.log("web app build up to date");
    return;
  }
  rmSync(dist, { recursive: true, force: true });
  for (const [name, bytes] of files) {
    const path = join(dist, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
  }
  const sizes = [...files].map(([n, b]) => `${n} ${(b.length / 1024).toFixed(1)} KiB`).join(", ");
  console.log(`built ${dist}: ${sizes}`);
}

await main();
