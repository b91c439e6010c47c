#!/usr/bin/env bash
# Runs every test against a private emulator on a free port, so a running `make dev` on 4566
# is left alone; the emulator is stopped however the tests end.
set -euo pipefail
cd "$(dirname "$0")/.."
port=$(infra/emulator.sh free-port)
trap 'infra/emulator.sh stop "$port"' EXIT
infra/emulator.sh start "$port"
export HOOKHUB_TEST_ENDPOINT="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
start=$(date +%s)
cargo test --workspace --all-targets --locked "$@"
echo "tests took $(( $(date +%s) - start )) s"
# Schemathesis over every operation of the OpenAPI document, on the same emulator.
infra/fuzz-api.sh
# The web console in headless Chromium, on the same emulator.
infra/console-test.sh
