#!/usr/bin/env bash
# The release build, the one way every command makes it: the tether binary and the console's files under
# target/site, with content-hashed names and brotli and gzip copies made at build time. The hash file cargo-leptos
# leaves beside the binary is copied into the site, where the server reads it (server/src/site.rs).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
source scripts/env.sh
target_dir=${CARGO_TARGET_DIR:-$here/target}

cargo leptos build --release --precompress
cp "$target_dir/release/hash.txt" "$here/target/site/hash.txt"
