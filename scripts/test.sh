#!/usr/bin/env bash
# Everything `make test` checks, in order; stops at the first failure with a non-zero exit.
#
# PostgreSQL: set TETHER_TEST_POSTGRES_URL to use a server you run (the tests create and drop their own
# databases on it); otherwise a throwaway server is started on a free loopback port and removed afterwards.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
source scripts/env.sh
target_dir=${CARGO_TARGET_DIR:-$here/target}

step() { printf '\n==> %s\n' "$*"; }

step "installing what the tests need"
scripts/setup.sh test

step "cargo fmt --check"
cargo fmt --all -- --check

step "no import circles between modules (scripts/module-cycles.py)"
python3 scripts/module-cycles.py

step "no source file over 700 lines, and the hub's mod.rs is wiring only"
long=$(find server/src app/src -name '*.rs' -exec wc -l {} + | awk '$2 != "total" && $1 > 700')
if [ -n "$long" ]; then
    printf 'over 700 lines:\n%s\n' "$long"
    exit 1
fi
if grep -nvE '^(//!.*|mod [a-z_][a-z0-9_]*;|pub use [a-z_][a-z0-9_]*::[{}A-Za-z0-9_, ]+;|)$' server/src/hub/mod.rs; then
    echo "server/src/hub/mod.rs holds more than module declarations and re-exports"
    exit 1
fi

step "cargo clippy (server and console, all targets)"
cargo clippy --workspace --all-targets -- -D warnings
step "cargo clippy (the console's WebAssembly build)"
cargo clippy -p frontend --target wasm32-unknown-unknown --features hydrate -- -D warnings

pg_dir=""
cleanup() {
    if [ -n "$pg_dir" ]; then
        scripts/postgres.sh stop "$pg_dir"
    fi
}
trap cleanup EXIT
if [ -z "${TETHER_TEST_POSTGRES_URL:-}" ]; then
    step "starting a throwaway PostgreSQL on loopback"
    pg_dir=$(mktemp -d /tmp/tether-pg-XXXXXX)
    TETHER_TEST_POSTGRES_URL=$(scripts/postgres.sh start "$pg_dir")
    export TETHER_TEST_POSTGRES_URL
    echo "PostgreSQL at ${TETHER_TEST_POSTGRES_URL}"
fi

step "unit and integration tests (storage suite on SQLite and PostgreSQL)"
cargo test --workspace

step "release build (scripts/build-release.sh)"
scripts/build-release.sh

step "end-to-end tests in Chromium"
(
    cd end2end
    TETHER_BIN="$target_dir/release/tether" TETHER_SITE_ROOT="$here/target/site" npx playwright test
)

if rustup toolchain list | grep -q '^nightly' && cargo fuzz --version >/dev/null 2>&1; then
    step "a short fuzz run: every target in server/fuzz for 15 s"
    FUZZ_TARGET_DIR="$target_dir/fuzz" scripts/fuzz.sh 15
else
    step "fuzzing skipped: it needs the nightly toolchain and cargo-fuzz"
fi

step "all checks passed"
