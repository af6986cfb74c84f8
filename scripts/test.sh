#!/usr/bin/env bash
# The whole suite: lint, types, then pytest on the embedded backend and again on the real servers.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
status=0
summary=()
step() { echo; echo "=== $*"; }

step "ruff"; .venv/bin/ruff check src tests bench migrations || status=1
step "mypy (strict)"; .venv/bin/mypy || status=1

if [ -x scripts/test-web.sh ]; then step "browser sources (node)"; bash scripts/test-web.sh || status=1; fi

run_pytest() {
  local backend=$1; shift
  step "pytest on the $backend backend"
  local log; log=$(mktemp)
  ATLAS_TEST_BACKEND=$backend $PY -m pytest -q -p no:cacheprovider "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local line; line=$(grep -E '^(=+ )?[0-9]+ (passed|failed)' "$log" | tail -1 | sed 's/=//g; s/^ *//; s/ *$//')
  summary+=("$backend: ${line:-no result} (exit $rc)")
  [ "$rc" -eq 0 ] || status=1
  rm -f "$log"
}

run_pytest embedded -m "not e2e"
run_pytest real -m "not e2e"
if ls tests/e2e/test_*.py >/dev/null 2>&1; then
  if [ ! -x /usr/bin/chromium ]; then
    step "installing Debian's chromium for the browser tests"
    if [ "$(id -u)" -eq 0 ]; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || status=1
    else
      echo "chromium is missing and this user cannot apt-get install it"; status=1
    fi
  fi
  run_pytest browser -m e2e tests/e2e
fi

echo
echo "=== summary (what ran)"
for s in "${summary[@]}"; do echo "  $s"; done
passed=0; failed=0
for s in "${summary[@]}"; do
  p=$(grep -oE '[0-9]+ passed' <<<"$s" | grep -oE '[0-9]+' || true); passed=$((passed + ${p:-0}))
  f=$(grep -oE '[0-9]+ (failed|errors?)' <<<"$s" | awk '{n += $1} END {print n + 0}'); failed=$((failed + f))
done
[ "$status" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
echo "total: $passed passed, $failed failed"
exit $status
