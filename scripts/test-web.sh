#!/usr/bin/env bash
# Browser sources under Node: install (only when needed), type-check, build, run web/test, and —
# when the web app's build exists — fail if the committed src/atlas/web/dist is stale.
# Called by scripts/test.sh; runs standalone too. Needs node >= 20.19 and npm.
set -euo pipefail
cd "$(dirname "$0")/../web"

# npm ci only when node_modules is missing or package-lock.json changed since the last install.
stamp=node_modules/.atlas-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -d node_modules ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "web: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

echo "web: typecheck"
node_modules/.bin/tsc -p tsconfig.json
echo "web: build"
node build.mjs
echo "web: node --test"
node --test --test-reporter=spec test/

# Hook for the web app (owned by the web app teammate): web/scripts/build-app.mjs --check rebuilds
# in memory and exits 1 when the committed src/atlas/web/dist differs by a single byte.
if [ -f scripts/build-app.mjs ]; then
  echo "web: committed app build is current"
  node scripts/build-app.mjs --check
fi
