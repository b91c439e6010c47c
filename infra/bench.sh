#!/usr/bin/env bash
# The delivery load tool against a private emulator (release build):
#   infra/bench.sh [--events N] [--receivers M] [--pollers P] [--rate EVENTS_PER_SEC]
set -euo pipefail
cd "$(dirname "$0")/.."
make -s venv
port=$(infra/emulator.sh free-port)
trap 'infra/emulator.sh stop "$port"' EXIT
infra/emulator.sh start "$port" >/dev/null
cargo build --release --locked -p hookhub-local --bins
HOOKHUB_BENCH_ENDPOINT="http://127.0.0.1:$port" target/release/hookhub-bench "$@"
