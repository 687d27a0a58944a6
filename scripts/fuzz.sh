#!/usr/bin/env bash
# Runs every cargo-fuzz target in server/fuzz for SECONDS seconds each (default 20), starting from the seeds in
# server/fuzz/seeds/<target>. New inputs collect in a corpus beside the build output, not in the clone. A crash
# stops the run with the failing input saved under server/fuzz/artifacts/<target>/; turn it into a regression
# test before fixing it.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
# Safe Rust needs no address sanitizer, so the targets build without one, which halves the build.
# Needs the nightly toolchain and cargo-fuzz (`scripts/setup.sh fuzz` installs cargo-fuzz).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here/server"
seconds=${1:-20}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-$here/target}/fuzz}
corpus_root="$CARGO_TARGET_DIR/corpus"

cargo +nightly fuzz build -O --sanitizer none
for target in "${targets[@]}"; do
    mkdir -p "$corpus_root/$target" "fuzz/artifacts/$target"
    echo "fuzzing $target for ${seconds}s"
    cargo +nightly fuzz run -O --sanitizer none "$target" "$corpus_root/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1 2>&1 |
        grep -E "^(stat::number_of_executed_units|stat::new_units_added|SUMMARY|==[0-9]+==ERROR)|panicked|Done" || true
    # cargo fuzz exits non-zero on a crash; grep above hides it, so check the artifacts instead.
    if compgen -G "fuzz/artifacts/$target/crash-*" > /dev/null || compgen -G "fuzz/artifacts/$target/oom-*" > /dev/null; then
        echo "fuzz target $target found a failing input: see server/fuzz/artifacts/$target/" >&2
        exit 1
    fi
done
echo "every fuzz target ran ${seconds}s without a failure"
