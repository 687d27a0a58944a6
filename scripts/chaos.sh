#!/usr/bin/env bash
# The chaos test (server/tests/it/chaos.rs) for SECONDS seconds (default 600), on a throwaway PostgreSQL unless
# TETHER_TEST_POSTGRES_URL names one. `make test` runs it for 25 s with the rest of the suite.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
source scripts/env.sh
scripts/setup.sh test
pg_dir=""
cleanup() { if [ -n "$pg_dir" ]; then scripts/postgres.sh stop "$pg_dir"; fi; }
trap cleanup EXIT
if [ -z "${TETHER_TEST_POSTGRES_URL:-}" ]; then
    pg_dir=$(mktemp -d /tmp/tether-pg-XXXXXX)
    TETHER_TEST_POSTGRES_URL=$(scripts/postgres.sh start "$pg_dir")
    export TETHER_TEST_POSTGRES_URL
fi
TETHER_CHAOS_SECONDS=${1:-600} cargo test -p tether --test it -- chaos --nocapture
