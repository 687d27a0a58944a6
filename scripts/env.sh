# Puts Tether's build tools on PATH. Sourced by the Makefile's scripts; sets nothing else.
export TETHER_TOOLS_DIR="${TETHER_TOOLS_DIR:-$HOME/.cache/tether/tools}"
export PATH="$HOME/.cargo/bin:$TETHER_TOOLS_DIR/node_modules/.bin:$PATH"
