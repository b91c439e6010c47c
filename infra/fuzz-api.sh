#!/usr/bin/env bash
# Schemathesis against the local runner: starts `hookhub-local dev` on a free port over the
# emulator at $HOOKHUB_TEST_ENDPOINT, seeds a tenant with an endpoint, a workflow, a test suite,
# an SMS integration and a sent message, then runs every operation of /api/openapi.json with a
# bounded budget
# ($HOOKHUB_FUZZ_EXAMPLES examples per operation, 10 by default). Fails on any 5xx, any
# response that does not match the document, and any request the document rules out that the
# API accepts. Called by infra/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
: "${HOOKHUB_TEST_ENDPOINT:?set by infra/test.sh}"
examples=${HOOKHUB_FUZZ_EXAMPLES:-10}
runner=${CARGO_TARGET_DIR:-target}/debug/hookhub-local
# Always through cargo, so a runner left from older code is rebuilt, and with the test run's
# own arguments, so that after infra/test.sh's `cargo test` this builds nothing (building the
# one package alone resolves features differently and recompiles the SDK).
cargo test --workspace --all-targets --locked --no-run -q
api_port=$(infra/emulator.sh free-port)
log=.run/fuzz-api-runner.log
mkdir -p .run

# Providers point at a closed local port: fuzzed sends fail fast instead of reaching the
# internet. Private targets are allowed so the seeded endpoint can be a local address.
AWS_ENDPOINT_URL="$HOOKHUB_TEST_ENDPOINT" HOOKHUB_PORT="$api_port" HOOKHUB_ALLOW_PRIVATE_TARGETS=true \
  HOOKHUB_TWILIO_BASE_URL=http://127.0.0.1:9 HOOKHUB_VONAGE_BASE_URL=http://127.0.0.1:9 \
  HOOKHUB_GRAPH_BASE_URL=http://127.0.0.1:9 RUST_LOG=warn \
  "$runner" dev >"$log" 2>&1 &
runner_pid=$!
trap 'kill "$runner_pid" 2>/dev/null || true' EXIT

base="http://127.0.0.1:$api_port"
HOOKHUB_FUZZ_TOKEN=$("$runner" token --role platform_admin)
export HOOKHUB_FUZZ_TOKEN
# Seed what the path parameters name; prints shell assignments.
eval "$("$VENV/bin/python" - "$base" "$HOOKHUB_FUZZ_TOKEN" <<'PY'
import json, sys, time, urllib.request, urllib.error
base, token = sys.argv[1], sys.argv[2]
def call(method, path, body=None, tenant=None):
    req = urllib.request.Request(base + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"authorization": f"Bearer {token}", "content-type": "application/json",
                 **({"x-tenant-id": tenant} if tenant else {})})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")
for _ in range(300):
    try:
        urllib.request.urlopen(base + "/api/openapi.json", timeout=1)
        break
    except Exception:
        time.sleep(0.2)
else:
    sys.exit("the runner did not start; see .run/fuzz-api-runner.log")
tenant = call("POST", "/api/platform/tenants", {"name": "Fuzz"})["id"]
endpoint = call("POST", "/api/v1/webhooks", {"name": "fuzz", "url": "http://127.0.0.1:9/hook", "events": ["*"]}, tenant)["id"]
workflow = call("POST", f"/api/platform/tenants/{tenant}/webhooks",
                {"workflowName": "fuzz_flow", "webhookUrl": "http://127.0.0.1:9/flow"})["id"]
call("PUT", f"/api/platform/tenants/{tenant}/integrations/instagram",
     {"enabled": True, "accessToken": "IGQVJFuzzAccessToken123456789", "appSecret": "fuzz-app-secret-0123456789", "appId": "1234567890",
      "webhookVerifyToken": "fuzz-verify", "accountId": "17841400008460056"})
suite = call("POST", "/api/v1/meta/test-suites",
             {"accountId": "17841400008460056", "senderId": "16505551234", "senderUsername": "fuzz.user"}, tenant)["id"]
call("POST", "/api/v1/events", {"type": "contact.created", "data": {"contact": {"id": "c1"}}}, tenant)
# An SMS integration (Twilio at the closed port: sends fail fast) and one message sent with it,
# so the integration test and the message read reach their handlers instead of a 404.
call("PUT", f"/api/platform/tenants/{tenant}/integrations/sms",
     {"enabled": True, "provider": "twilio", "accountSid": "AC0123456789abcdef0123456789abcdef",
      "authToken": "fuzz-twilio-auth-token-0123456789", "phoneNumber": "+15550001111"})
message = call("POST", "/api/v1/messages", {"channel": "sms", "to": "+15551234567", "text": "fuzz"}, tenant)["id"]
spare_tenant = call("POST", "/api/platform/tenants", {"name": "Fuzz spare"})["id"]
spare_endpoint = call("POST", "/api/v1/webhooks", {"name": "spare", "url": "http://127.0.0.1:9/spare", "events": ["*"]}, tenant)["id"]
print(f"export HOOKHUB_FUZZ_TENANT={tenant} HOOKHUB_FUZZ_ENDPOINT={endpoint} "
      f"HOOKHUB_FUZZ_WORKFLOW={workflow} HOOKHUB_FUZZ_SUITE={suite} "
      f"HOOKHUB_FUZZ_SPARE_TENANT={spare_tenant} HOOKHUB_FUZZ_SPARE_ENDPOINT={spare_endpoint} "
      f"HOOKHUB_FUZZ_MESSAGE={message}")
PY
)"

start=$(date +%s)
# One worker: schemathesis runs workers as threads, and CPython 3.11's `ast` module shares its
# recursion-depth counter between threads (python/cpython#106905), so two workers now and then
# fail a run with "AST constructor recursion depth mismatch" inside Hypothesis, whatever the API
# answers (seen once in CI, on POST /api/v1/webhooks/{webhookId}/recover).
"$VENV/bin/schemathesis" --config-file infra/schemathesis.toml run "$base/api/openapi.json" \
  --max-examples "$examples" --phases examples,coverage,fuzzing --workers 1 \
  --generation-database none --seed "${HOOKHUB_FUZZ_SEED:-20261123}" --no-color
echo "schemathesis took $(( $(date +%s) - start )) s"
