#!/usr/bin/env bash
# `make bench`: every figure in one run, then one Markdown table of them with the command that measured each.
# Timings on a shared machine are noisy: the benches report medians, and ratios of runs made side by side.
#
#   TETHER_BENCH_REFRESH_SIZES   expiring instances the refresher is timed over (default 10000,100000)
#   TETHER_BENCH_INSTANCES       instances made for the resident-memory figure (default 100000)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
source scripts/env.sh
target_dir=${CARGO_TARGET_DIR:-$here/target}
scripts/setup.sh bench

report=$(mktemp /tmp/tether-bench-XXXXXX.tsv)
export TETHER_BENCH_REPORT=$report
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$report"; }
kilobytes() { awk -v bytes="$1" 'BEGIN { printf "%.0f", bytes / 1024 }'; }

cargo bench -p tether --bench catalog
cargo bench -p tether --bench instances
cargo bench -p tether --bench events

scripts/build-release.sh
scripts/bench-proxy.sh
wasm=$(ls target/site/pkg/*.wasm | head -n 1)
raw=$(stat -c %s "$wasm")
compressed=$(stat -c %s "$wasm.br")
record "console WebAssembly, brotli as served (raw)" "$(kilobytes "$compressed") KB ($(kilobytes "$raw") KB)" "at most 300 KB" \
    "stat -c %s $wasm.br"

# Resident memory of the release binary: idle after start, then with many instances made through its API.
data_dir=$(mktemp -d /tmp/tether-bench-data-XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
TETHER_LISTEN="127.0.0.1:$port" TETHER_DATA_DIR="$data_dir" TETHER_SITE_ROOT="$here/target/site" \
    TETHER_API_RATE_LIMIT_PER_SECOND=0 TETHER_LOG=warn "$target_dir/release/tether" serve >"$data_dir/out.log" 2>&1 &
tether_pid=$!
trap 'kill $tether_pid 2>/dev/null || true; rm -rf "$data_dir" "$report"' EXIT
for _ in $(seq 1 300); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
resident() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$tether_pid/status"; }
sleep 5 # idle on purpose: the figure is the memory of a started, idle node
record "resident memory, idle" "$(resident) MB" "at most 40 MB" "grep VmRSS /proc/<pid>/status after start"
authorization=$(sed -n 's/^ *Authorization: //p' "$data_dir/out.log")
instances=${TETHER_BENCH_INSTANCES:-100000}
node end2end/bench/make-instances.mjs "http://127.0.0.1:$port" "$authorization" "$instances"
curl -fsS -o /dev/null -H "Authorization: $authorization" "http://127.0.0.1:$port/elements/api-v2/instances?pageSize=200"
record "resident memory with $instances instances" "$(resident) MB" "at most 300 MB" \
    "node end2end/bench/make-instances.mjs …, then grep VmRSS"
kill $tether_pid

(cd end2end && TETHER_BIN="$target_dir/release/tether" TETHER_SITE_ROOT="$here/target/site" \
    npx playwright test -c bench.config.ts)

printf '\n## make bench, %s, on %s (%s cores, %s GB memory)\n\n' "$(date -u +%Y-%m-%d)" \
    "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)" "$(nproc)" \
    "$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)"
printf '| figure | value | target | command |\n| --- | --- | --- | --- |\n'
# awk, not `read`: read merges the tabs around an empty field. A `|` inside a cell is escaped for Markdown.
awk -F '\t' '{
    for (field = 1; field <= 4; field++) gsub(/\|/, "\\|", $field)
    printf "| %s | %s | %s | `%s` |\n", $1, $2, ($3 == "" ? "none" : $3), $4
}' "$report"
