# purpose-lineage — every gate runs the same here and in CI (.ci/run).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install system-deps run test test-unit test-integration deploy-check bench chaos lint typecheck format schemas schemas-check clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install the project with its local and dev extras

system-deps: ## Install the Debian packages the tests drive (promtool, amtool, Chromium) when missing
	bash .ci/system-deps

run: $(STAMP) ## Run the whole stack on the embedded default with demo traffic (Ctrl-C stops)
	LINEAGE_OPENLINEAGE_FILE=$${LINEAGE_OPENLINEAGE_FILE:-var/openlineage.jsonl} $(BIN)/purpose-lineage up --demo

test: $(STAMP) system-deps ## Run every test: unit, then integration on a real broker, ClickHouse engine and browser
	$(BIN)/pytest

test-unit: $(STAMP) system-deps ## Unit tests only (no broker; promtool and amtool check the deploy assets)
	$(BIN)/pytest tests/unit

test-integration: $(STAMP) system-deps ## Integration tests only
	$(BIN)/pytest tests/integration

deploy-check: $(STAMP) system-deps ## Prometheus rules and their unit tests, Alertmanager config, Grafana dashboards
	promtool check rules deploy/prometheus/rules/*.yml
	promtool check config deploy/prometheus/prometheus.yml
	promtool test rules deploy/prometheus/tests/*.test.yml
	amtool check-config deploy/alertmanager/alertmanager.yml
	$(BIN)/pytest tests/unit/deploy

bench: $(STAMP) ## Throughput benchmarks (stages alone, broker -> ClickHouse end to end, the monitor's decisions, 1 vs 2 collect workers, identity lookup vs history)
	$(BIN)/python -m tests.benchmarks.bench_pipeline
	$(BIN)/python -m tests.benchmarks.bench_scale_out
	$(BIN)/python -m tests.benchmarks.bench_identity

chaos: $(STAMP) ## Fault injection on real processes (kill -9 of each role x10 in 100,000 events, SIGTERM during a store outage, a 200,000 burst); writes chaos-results.json
	$(BIN)/python -m tests.chaos.chaos

lint: $(STAMP) ## ruff lint and format check, JSON Schema drift check (changes nothing)
	$(BIN)/ruff check services schemas tests
	$(BIN)/ruff format --check services schemas tests
	$(BIN)/python -m schemas.jsonschema_export --check

typecheck: $(STAMP) ## mypy --strict (changes nothing)
	$(BIN)/mypy

format: $(STAMP) ## Apply ruff fixes and formatting
	$(BIN)/ruff check --fix services schemas tests
	$(BIN)/ruff format services schemas tests

schemas: $(STAMP) ## Regenerate the JSON Schema documents in schemas/jsonschema from the contracts
	$(BIN)/python -m schemas.jsonschema_export

schemas-check: $(STAMP) ## Fail if schemas/jsonschema differs from the contracts (changes nothing)
	$(BIN)/python -m schemas.jsonschema_export --check

clean: ## Remove the virtual environment and local state (var/)
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
