# hookhub: `make dev` sets up a fresh machine and runs the local stack; `make test` sets up
# and runs every test, the template lint included.
SHELL := /bin/bash
VENV := .venv
SAM_VENV := .venv-sam
EMULATOR_PORT := $(or $(HOOKHUB_EMULATOR_PORT),4566)
export HOOKHUB_EMULATOR_PORT := $(EMULATOR_PORT)
export HOOKHUB_PORT ?= 3000
export HOOKHUB_ALLOW_PRIVATE_TARGETS ?= true
export HOOKHUB_LOCAL := true
export AWS_ACCESS_KEY_ID ?= test
export AWS_SECRET_ACCESS_KEY ?= test
export AWS_REGION ?= us-east-1

.PHONY: openapi dev test setup venv toolchain browser build lint fmt emulator-start emulator-stop token clean

dev: setup
	infra/emulator.sh start $(EMULATOR_PORT)
	AWS_ENDPOINT_URL=http://127.0.0.1:$(EMULATOR_PORT) cargo run --locked -p hookhub-local -- dev

test: setup browser console/node_modules/.installed $(SAM_VENV)/.installed
	infra/test.sh
	$(VENV)/bin/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint --template template.yaml --region us-east-1

lint: toolchain
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

setup: venv toolchain

venv: $(VENV)/.installed

$(VENV)/.installed: infra/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements.txt
	touch $@

$(SAM_VENV)/.installed: infra/requirements-sam.txt
	python3 -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements-sam.txt
	touch $@

# The console's journeys run in Debian's Chromium (Playwright drives it; no browser download)
# and its unit tests in Node.
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found: sudo apt-get install chromium"; exit 1; fi; }
	@command -v node >/dev/null || { echo "node not found: install Node.js 18 or later"; exit 1; }

# The console's type checker (TypeScript) and the generator of its API types from the
# OpenAPI document, pinned by console/package-lock.json.
console/node_modules/.installed: console/package-lock.json
	cd console && npm ci --no-audit --no-fund --loglevel=error
	touch $@

toolchain:
	@command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup"; exit 1; }
	@rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy rustfmt

build:
	cargo build --locked -p hookhub-local

# The admin API's OpenAPI document, generated from the code (the handlers' annotations, the
# queries' and bodies' types), then the console's types generated from it.
openapi:
	cargo run --locked -q -p hookhub-local -- openapi > functions/admin-api/openapi.json.new
	mv functions/admin-api/openapi.json.new functions/admin-api/openapi.json
	cd console && npx --no-install openapi-typescript ../functions/admin-api/openapi.json --output types/openapi.d.ts

emulator-start: venv
	infra/emulator.sh start $(EMULATOR_PORT)

emulator-stop:
	infra/emulator.sh stop $(EMULATOR_PORT)

token:
	@cargo run --quiet --locked -p hookhub-local -- token --role $(or $(ROLE),platform_admin) $(if $(TENANT),--tenant $(TENANT))

clean: emulator-stop
	cargo clean
	rm -rf $(VENV) $(SAM_VENV) .run
