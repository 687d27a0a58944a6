# Tether's two commands: `make run` and `make test`. Both install what is missing first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
# cargo-leptos writes the console's assets under the workspace, whatever the cargo target folder.
SITE_ROOT := $(CURDIR)/target/site

.PHONY: help run build test setup bench screenshots cluster fuzz chaos

help: ## List the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-6s %s\n", $$1, $$2}'

setup: ## Install the build tools that are missing
	@scripts/setup.sh build

build: setup ## Build the release: the tether binary and the console's WebAssembly, hashed and precompressed
	@scripts/build-release.sh

# `make run` is a trial on one machine: Tether Sandbox is on, and callback URLs may name this machine. Both can be
# overridden (TETHER_SANDBOX=false, TETHER_ALLOW_PRIVATE_NETWORK=false); production configuration leaves both off.
RUN_ENV := TETHER_SANDBOX=$${TETHER_SANDBOX:-true} TETHER_ALLOW_PRIVATE_NETWORK=$${TETHER_ALLOW_PRIVATE_NETWORK:-true}

run: build ## Build and start Tether at http://127.0.0.1:3000, with Tether Sandbox at /sandbox (TETHER_LISTEN, TETHER_DATA_DIR, DATABASE_URL override)
	@$(RUN_ENV) TETHER_SITE_ROOT=$(SITE_ROOT) exec $(TARGET_DIR)/release/tether serve

cluster: ## Start 3 nodes on one PostgreSQL behind nginx at http://127.0.0.1:3000 (CLUSTER_PORT, CLUSTER_NODES); Ctrl-C stops all
	@scripts/setup.sh cluster && scripts/build-release.sh && TETHER_BIN=$(TARGET_DIR)/release/tether TETHER_SITE_ROOT=$(SITE_ROOT) scripts/cluster.sh

chaos: ## The chaos test's long form: nodes SIGKILLed at random for CHAOS_SECONDS (default 600) under load
	@scripts/chaos.sh $${CHAOS_SECONDS:-600}

fuzz: ## Run every fuzz target for FUZZ_SECONDS (default 300) each; needs the nightly toolchain
	@scripts/setup.sh fuzz && scripts/fuzz.sh $${FUZZ_SECONDS:-300}

test: ## Install what the tests need and run every check
	@scripts/test.sh

bench: ## Measure everything (search, POST /instances, proxy vs direct and nginx, refreshes, deliveries, memory, WASM size, time to interactive) and print one Markdown table
	@scripts/bench.sh

screenshots: build ## Retake the README's screenshots of the sandbox walk-through (docs/screenshots/)
	@scripts/setup.sh test
	@cd end2end && TETHER_BIN=$(TARGET_DIR)/release/tether TETHER_SITE_ROOT=$(SITE_ROOT) \
		TETHER_SCREENSHOTS=$(CURDIR)/docs/screenshots npx playwright test tests/sandbox.spec.ts
