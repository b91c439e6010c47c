#!/usr/bin/env bash
# Starts and stops the local AWS emulator (moto's server mode) on loopback.
#   infra/emulator.sh start PORT   # background, pid in .run/emulator-PORT.pid, waits until it answers
#   infra/emulator.sh stop PORT
#   infra/emulator.sh free-port    # prints a free loopback port
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
mkdir -p .run

cmd=${1:-}
port=${2:-${HOOKHUB_EMULATOR_PORT:-4566}}
pidfile=".run/emulator-$port.pid"
logfile=".run/emulator-$port.log"

answering() {
  "$VENV/bin/python" - "$port" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/", timeout=1)
except Exception:
    sys.exit(1)
PY
}

case "$cmd" in
  start)
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && answering; then
      echo "emulator already running on 127.0.0.1:$port"
      exit 0
    fi
    # Tests read requests back through moto's recorder; keep its file with the other run files.
    MOTO_RECORDER_FILEPATH="$PWD/.run/moto-recording-$port" nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$logfile" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 150); do
      if answering; then
        echo "emulator up on 127.0.0.1:$port (log: $logfile)"
        exit 0
      fi
      if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "emulator exited; its log:" >&2
        cat "$logfile" >&2
        exit 1
      fi
      sleep 0.2
    done
    echo "emulator did not answer on 127.0.0.1:$port within 30 s; log:" >&2
    cat "$logfile" >&2
    exit 1
    ;;
  stop)
    if [ -f "$pidfile" ]; then
      pid=$(cat "$pidfile")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$pidfile"
    fi
    ;;
  free-port)
    "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
    ;;
  *)
    echo "usage: $0 start|stop [PORT] | free-port" >&2
    exit 2
    ;;
esac
