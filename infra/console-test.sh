#!/usr/bin/env bash
# The web console: its unit tests (node --test) and its journeys in headless Chromium against
# `hookhub-local dev` on the emulator at $HOOKHUB_TEST_ENDPOINT. Called by infra/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
: "${HOOKHUB_TEST_ENDPOINT:?set by infra/test.sh}"
node --test console/tests/
# Built by infra/test.sh's `cargo test`; through cargo so a stale runner is rebuilt.
cargo test --workspace --all-targets --locked --no-run -q
# The console's calls against the API's document: the types generated from the document
# /api/openapi.json serves (functions/admin-api/openapi.json) must be current, and every call
# must type-check against them (console/types/api.d.ts).
document=$PWD/functions/admin-api/openapi.json
(
  cd console
  [ -f node_modules/.installed ] || { npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; }
  fresh=$(mktemp --suffix=.d.ts)
  npx --no-install openapi-typescript "$document" --output "$fresh" >/dev/null
  if ! diff -q "$fresh" types/openapi.d.ts >/dev/null; then
    echo "console/types/openapi.d.ts is stale: run (cd console && npm run types)" >&2
    rm -f "$fresh"
    exit 1
  fi
  rm -f "$fresh"
  npx --no-install tsc -p tsconfig.json
)
echo "console type check passed"
start=$(date +%s)
"$VENV/bin/python" console/tests/journeys.py
echo "console journeys took $(( $(date +%s) - start )) s"
