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
start=$(date +%s)
"$VENV/bin/python" console/tests/journeys.py
echo "console journeys took $(( $(date +%s) - start )) s"
