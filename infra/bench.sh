#!/usr/bin/env bash
# The load tools against a private emulator (release build):
#   infra/bench.sh [--events N] [--receivers M] [--pollers P] [--rate EVENTS_PER_SEC]   deliveries
#   infra/bench.sh meta [--posts N] [--concurrency C] [--batches B]                      Meta ingress
#   infra/bench.sh coldstart [--runs N] [--standard-chain] [--compare DIR]   cold starts, sizes
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = coldstart ]; then
  shift
  # The three functions as Lambda runs them, the hello-world baseline and the SDK floor
  # (hello-world + the AWS clients), one profile.
  # Two builds: built with the local runner, the admin API would gain its OpenAPI generator
  # (the runner turns its `openapi` feature on), which the deployed function does not have.
  cargo build --release --locked -p admin-api -p meta-ingress -p delivery-worker
  cargo build --release --locked -p hookhub-local \
    --bin coldstart-hello --bin coldstart-sdk --bin hookhub-coldstart
  exec target/release/hookhub-coldstart --dir target/release "$@"
fi
tool=hookhub-bench
if [ "${1:-}" = meta ]; then
  tool=hookhub-meta-bench
  shift
fi
make -s venv
port=$(infra/emulator.sh free-port)
trap 'infra/emulator.sh stop "$port"' EXIT
infra/emulator.sh start "$port" >/dev/null
cargo build --release --locked -p hookhub-local --bins
HOOKHUB_BENCH_ENDPOINT="http://127.0.0.1:$port" "target/release/$tool" "$@"
