#!/usr/bin/env bash
# `make cluster`: three Tether nodes on one PostgreSQL, behind nginx, all on loopback, for trying a multi-node
# deployment. Everything lives in a temporary folder that is removed when the script stops (Ctrl-C).
#
#   CLUSTER_PORT   where nginx listens (default 3000); the console and API are at http://127.0.0.1:$CLUSTER_PORT
#   CLUSTER_NODES  how many nodes (default 3)
#   TETHER_BIN, TETHER_SITE_ROOT   the binary and console assets (default: the release build)
#
# The nodes share the database and one master key; nothing else. Sessions, pending OAuth flows, refresh leases,
# poll schedules, the delivery queue and the mail outbox are all in PostgreSQL, and every node runs the workers.
# PostgreSQL runs with fsync off: this is a trial, not a deployment (see the README's "Several nodes").
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
source scripts/env.sh
target_dir=${CARGO_TARGET_DIR:-$here/target}
bin=${TETHER_BIN:-$target_dir/release/tether}
site_root=${TETHER_SITE_ROOT:-$here/target/site}
port=${CLUSTER_PORT:-3000}
nodes=${CLUSTER_NODES:-3}
[ -x "$bin" ] || { echo "no tether binary at $bin: run make build first" >&2; exit 1; }
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { echo "nginx is missing: scripts/setup.sh cluster installs it" >&2; exit 1; }
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

say() { printf '[cluster] %s\n' "$*"; }
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
wait_healthy() {
    for _ in $(seq 1 300); do
        curl -fsS "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "nothing answered on port $1" >&2
    return 1
}

work=$(mktemp -d /tmp/tether-cluster-XXXXXX)
# A folder of its own: PostgreSQL runs as its own user, who cannot enter $work.
pg_dir=$(mktemp -d /tmp/tether-cluster-pg-XXXXXX)
node_pids=()
stop() {
    trap - EXIT INT TERM
    say "stopping"
    for pid in "${node_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${node_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    [ -f "$work/nginx/nginx.pid" ] && kill "$(cat "$work/nginx/nginx.pid")" 2>/dev/null || true
    scripts/postgres.sh stop "$pg_dir" 2>/dev/null || rm -rf "$pg_dir"
    rm -rf "$work"
}
trap stop EXIT INT TERM

say "starting PostgreSQL"
database_url=$(scripts/postgres.sh start "$pg_dir")
master_key=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')

start_node() {
    local number=$1 node_port
    node_port=$(free_port)
    mkdir -p "$work/node$number"
    TETHER_LISTEN="127.0.0.1:$node_port" TETHER_DATA_DIR="$work/node$number" DATABASE_URL="$database_url" \
        TETHER_MASTER_KEY="$master_key" TETHER_PUBLIC_URL="http://127.0.0.1:$port" TETHER_SITE_ROOT="$site_root" \
        TETHER_ALLOW_PRIVATE_NETWORK="${TETHER_ALLOW_PRIVATE_NETWORK:-true}" TETHER_SANDBOX=false \
        "$bin" serve >"$work/node$number.log" 2>&1 &
    node_pids+=($!)
    echo "$node_port" >"$work/node$number.port"
    wait_healthy "$node_port"
    say "node $number on 127.0.0.1:$node_port (log: $work/node$number.log)"
}

# The first node alone makes the schema and the first organization; the others join it.
start_node 1
for number in $(seq 2 "$nodes"); do start_node "$number"; done

mkdir -p "$work/nginx"
{
    echo "pid $work/nginx/nginx.pid;"
    echo "error_log $work/nginx/error.log warn;"
    echo "worker_processes 1;"
    echo "events { worker_connections 1024; }"
    echo "http {"
    echo "  access_log off;"
    for dir in client_body proxy fastcgi uwsgi scgi; do echo "  ${dir}_temp_path $work/nginx/$dir;"; done
    echo "  upstream tether {"
    for number in $(seq 1 "$nodes"); do echo "    server 127.0.0.1:$(cat "$work/node$number.port") max_fails=1 fail_timeout=2s;"; done
    echo "    keepalive 32;"
    echo "  }"
    echo "  server {"
    echo "    listen 127.0.0.1:$port;"
    echo "    client_max_body_size 2m;"
    echo "    location / {"
    echo "      proxy_pass http://tether;"
    echo "      proxy_http_version 1.1;"
    echo "      proxy_set_header Connection \"\";"
    echo "      proxy_set_header Host \$http_host;"
    echo "      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;"
    echo "      proxy_next_upstream error timeout;"
    echo "    }"
    echo "  }"
    echo "}"
} >"$work/nginx/nginx.conf"
"$nginx_bin" -c "$work/nginx/nginx.conf" -p "$work/nginx" -g 'daemon on;'
wait_healthy "$port"

say "the first node's first-start credentials:"
sed -n '/^First start:/,/^Forgot/p' "$work/node1.log" | sed 's/^/    /'
say "ready: http://127.0.0.1:$port ($nodes nodes, PostgreSQL at $database_url). Ctrl-C stops everything."
echo "$$" >"$work/cluster.pid"
echo "cluster ready on port $port" >"$work/ready"
# Until Ctrl-C (or SIGTERM to this script); a node that dies meanwhile leaves the others serving.
wait
