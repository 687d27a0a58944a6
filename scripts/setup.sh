#!/usr/bin/env bash
# Installs what Tether needs, skipping whatever is already there. Safe to run again and again.
#
#   scripts/setup.sh build   the Rust WASM target, cargo-leptos, the wasm-bindgen CLI and wasm-opt
#   scripts/setup.sh test    all of the above, plus Chromium, PostgreSQL, the end-to-end npm packages, the
#                            Python packages of the SMTP sink (aiosmtpd), the OAuth 1.0a
#                            provider (oauthlib), the AWS and Duo signature checks (botocore, duo_client), and, with a nightly toolchain, cargo-fuzz
#   scripts/setup.sh fuzz    cargo-fuzz only
#   scripts/setup.sh cluster the build tools, nginx and PostgreSQL, for make cluster
#   scripts/setup.sh bench   what the tests need (nginx and Chromium among it), for make bench
#
# Tools that cargo installs go to ~/.cargo/bin; wasm-opt comes from npm into $TETHER_TOOLS_DIR.
# Source scripts/env.sh afterwards to put them on PATH.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/scripts/env.sh"

CARGO_LEPTOS_VERSION=0.3.5
BINARYEN_VERSION=132
AIOSMTPD_VERSION=1.4.6
# The tests' OAuth 1.0a provider, and the AWS library that checks Signature Version 4 signatures.
OAUTHLIB_VERSION=3.2.2
BOTOCORE_VERSION=1.43.11
DUO_CLIENT_VERSION=5.7.0
CARGO_FUZZ_VERSION=0.13.2
# The CLI must match the wasm-bindgen the workspace pins.
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"/\1/p' "$here/Cargo.toml")

say() { printf '[setup] %s\n' "$*"; }

apt_install() {
    local missing=()
    for package in "$@"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing ${missing[*]} with apt-get"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

build_tools() {
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        say "adding the wasm32-unknown-unknown target"
        rustup target add wasm32-unknown-unknown
    fi
    if ! cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION"; then
        say "installing cargo-leptos $CARGO_LEPTOS_VERSION (several minutes)"
        # --locked: newer dependency versions need a newer rustc than this machine has.
        cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
    fi
    if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION"; then
        say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
        # Not --locked: the lock file names a webpki-roots version the registry no longer serves.
        cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
    fi
    if ! wasm-opt --version 2>/dev/null | grep -q "version $BINARYEN_VERSION"; then
        say "installing wasm-opt (binaryen $BINARYEN_VERSION from npm)"
        mkdir -p "$TETHER_TOOLS_DIR"
        npm install --prefix "$TETHER_TOOLS_DIR" --no-audit --no-fund --silent "binaryen@$BINARYEN_VERSION"
    fi
}

test_tools() {
    apt_install chromium postgresql nginx
    if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
        say "installing aiosmtpd $AIOSMTPD_VERSION (the tests' SMTP sink)"
        python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "aiosmtpd==$AIOSMTPD_VERSION"
    fi
    if ! python3 -c 'import oauthlib, botocore, duo_client' 2>/dev/null; then
        say "installing oauthlib $OAUTHLIB_VERSION, botocore $BOTOCORE_VERSION and duo_client $DUO_CLIENT_VERSION (the tests' OAuth 1.0a provider, AWS and Duo signature checks)"
        python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
            "oauthlib==$OAUTHLIB_VERSION" "botocore==$BOTOCORE_VERSION" "duo_client==$DUO_CLIENT_VERSION"
    fi
    if [ ! -d "$here/end2end/node_modules/@playwright/test" ] || [ "$here/end2end/package-lock.json" -nt "$here/end2end/node_modules/.package-lock.json" ]; then
        say "installing the end-to-end test packages"
        (cd "$here/end2end" && npm ci --no-audit --no-fund --silent)
    fi
}

# cargo-fuzz, when the nightly toolchain it needs is installed; without nightly the fuzz run is skipped.
fuzz_tools() {
    rustup toolchain list | grep -q '^nightly' || return 0
    if ! cargo fuzz --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION"; then
        say "installing cargo-fuzz $CARGO_FUZZ_VERSION"
        cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
    fi
}

case "${1:-build}" in
    build) build_tools ;;
    test) build_tools; test_tools; fuzz_tools ;;
    fuzz) fuzz_tools ;;
    cluster) build_tools; apt_install nginx postgresql ;;
    bench) build_tools; test_tools; apt_install wrk ;;
    *) echo "usage: $0 [build|test|fuzz|cluster|bench]" >&2; exit 2 ;;
esac
