#!/usr/bin/env bash
# The proxy beside nginx, side by side in one run, as separate processes driven by `wrk`: direct calls to an
# upstream, the same calls through nginx `proxy_pass` (keep-alive), and through Tether's proxy with an API-key
# element adding a header. Two upstreams: nginx `return 200` with a 100-byte JSON body (answers at once), and
# `bench-upstream` (server/examples), which answers the same body after 1 ms.
#
# For each upstream: throughput with 16 connections (ROUNDS rounds of SECONDS s each, in turn; medians, and the
# lowest and highest round's Tether / nginx ratio as the noise), the processor time Tether and nginx spend per call
# (from /proc, per round: the median, and Tether's lowest and highest round as the noise), and the latency one connection at a time (p50 and p99; what a proxy
# adds is its figure less the direct one). Then Tether's resident memory: idle, at its peak under 200 connections
# for 10 s, and after the load, sampled each second until it is back within 1.5 times the idle figure or 60 s
# have passed.
#
# Expects the release binary (scripts/build-release.sh); rows go to $TETHER_BENCH_REPORT when it is set (as
# scripts/bench.sh does), and a summary to standard output.
#
#   TETHER_BENCH_PROXY_ROUNDS    rounds of each throughput figure (default 3)
#   TETHER_BENCH_PROXY_SECONDS   seconds each wrk run lasts (default 5)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
source scripts/env.sh
target_dir=${CARGO_TARGET_DIR:-$here/target}
rounds=${TETHER_BENCH_PROXY_ROUNDS:-3}
seconds=${TETHER_BENCH_PROXY_SECONDS:-5}
command_label="scripts/bench-proxy.sh"
nginx=$(command -v nginx || echo /usr/sbin/nginx)
for tool in wrk "$nginx"; do
    command -v "$tool" >/dev/null || { echo "bench-proxy: $tool is missing (scripts/setup.sh bench installs it)" >&2; exit 1; }
done

cargo build --release -p tether --example bench-upstream
work=$(mktemp -d /tmp/tether-bench-proxy-XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
wait_for() { for _ in $(seq 1 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "bench-proxy: $1 did not answer" >&2; exit 1; }
record() { [ -n "${TETHER_BENCH_REPORT:-}" ] && printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$command_label" >>"$TETHER_BENCH_REPORT"; echo "$1: $2"; }
# Processor time of a process and its threads, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
ticks_per_second=$(getconf CLK_TCK)

# The slower upstream.
"$target_dir/release/examples/bench-upstream" >"$work/upstream.out" &
pids+=($!)
for _ in $(seq 1 300); do grep -q READY "$work/upstream.out" 2>/dev/null && break; sleep 0.1; done
slow_upstream=$(sed -n 's/^BENCH_UPSTREAM_READY //p' "$work/upstream.out")
slow_port=${slow_upstream##*:}

# nginx: the instant upstream, and proxy_pass with keep-alive to each upstream.
instant_port=$(free_port) nginx_instant_port=$(free_port) nginx_slow_port=$(free_port)
body='{"things":[1,2,3],"note":"a body of about one hundred bytes from the upstream, padded to size....."}'
cat >"$work/nginx.conf" <<NGINX
pid $work/nginx.pid; error_log $work/nginx-error.log warn; worker_processes auto; daemon off;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/body; proxy_temp_path $work/proxy; fastcgi_temp_path $work/fastcgi;
    uwsgi_temp_path $work/uwsgi; scgi_temp_path $work/scgi;
    upstream instant { server 127.0.0.1:$instant_port; keepalive 64; }
    upstream slow { server 127.0.0.1:$slow_port; keepalive 64; }
    server { listen 127.0.0.1:$instant_port; location / { default_type application/json; return 200 '$body'; } }
    server { listen 127.0.0.1:$nginx_instant_port; location / { proxy_pass http://instant; proxy_http_version 1.1; proxy_set_header Connection ""; } }
    server { listen 127.0.0.1:$nginx_slow_port; location / { proxy_pass http://slow; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}
NGINX
"$nginx" -p "$work" -c "$work/nginx.conf" &
pids+=($!)
wait_for "http://127.0.0.1:$instant_port/"
nginx_workers() { pgrep -P "$(cat "$work/nginx.pid")" | tr '\n' ' '; }
workers_ticks() { for pid in $1; do cpu_ticks "$pid"; done | awk '{ sum += $1 } END { print sum + 0 }'; }

# Tether, on a fresh data directory, with one instance for each upstream.
tether_port=$(free_port)
mkdir -p "$work/data"
TETHER_LISTEN="127.0.0.1:$tether_port" TETHER_DATA_DIR="$work/data" TETHER_SITE_ROOT="$here/target/site" \
    TETHER_LOG=warn TETHER_ALLOW_PRIVATE_NETWORK=true "$target_dir/release/tether" serve >"$work/tether.log" 2>&1 &
tether_pid=$!
pids+=($tether_pid)
wait_for "http://127.0.0.1:$tether_port/healthz"
api="http://127.0.0.1:$tether_port/elements/api-v2"
organization=$(sed -n 's/^ *Authorization: //p' "$work/tether.log")
proxy_authorization=()
for upstream in "http://127.0.0.1:$instant_port" "$slow_upstream"; do
    key="bench-${#proxy_authorization[@]}"
    curl -fsS -o /dev/null -X POST "$api/elements" -H "Authorization: $organization" -H 'content-type: application/json' \
        -d "{\"key\": \"$key\", \"name\": \"$key\", \"hub\": \"general\", \"auth\": \"apiKey\",
             \"api\": {\"baseUrl\": \"$upstream/api\", \"credentials\": {\"in\": \"header\", \"name\": \"x-api-key\", \"value\": \"{apiKey}\"}},
             \"parameters\": [{\"key\": \"apiKey\", \"label\": \"API key\", \"secret\": true}]}"
    token=$(curl -fsS -X POST "$api/instances" -H "Authorization: $organization" -H 'content-type: application/json' \
        -d "{\"element\": {\"key\": \"$key\"}, \"name\": \"$key\", \"configuration\": {\"apiKey\": \"bench-key\"}}" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
    proxy_authorization+=("$organization, Element $token")
done

resident() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$tether_pid/status"; }
idle=$(resident)

# `wrk` figures: requests a second, total requests, and latency percentiles in microseconds.
run_wrk() { # connections threads url [authorization]
    local connections=$1 threads=$2 url=$3 out
    out=$(wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency ${4:+-H "Authorization: $4"} -H 'x-api-key: bench-key' "$url")
    if echo "$out" | grep -q 'Non-2xx'; then echo "bench-proxy: $url answered errors: $out" >&2; exit 1; fi
    echo "$out" | awk '
        function micros(text) { if (text ~ /us$/) return text + 0; if (text ~ /ms$/) return text * 1000; if (text ~ /s$/) return text * 1000000; return text }
        /Requests\/sec/ { rate = $2 }
        /requests in/ { total = $1 }
        $1 == "50%" { p50 = micros($2) }
        $1 == "99%" { p99 = micros($2) }
        END { printf "%s %s %s %s\n", rate, total, p50, p99 }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# Processor time per call in µs, from clock ticks spent and calls served.
micros_per_call() { awk -v ticks="$1" -v calls="$2" -v hz="$ticks_per_second" 'BEGIN { printf "%.0f", 1e6 * ticks / hz / calls }'; }

for upstream in instant slow; do
    if [ "$upstream" = instant ]; then
        direct="http://127.0.0.1:$instant_port/api/things" through_nginx="http://127.0.0.1:$nginx_instant_port/api/things"
        authorization=${proxy_authorization[0]} label="upstream answering at once"
    else
        direct="$slow_upstream/api/things" through_nginx="http://127.0.0.1:$nginx_slow_port/api/things"
        authorization=${proxy_authorization[1]} label="upstream taking 1 ms"
    fi
    through_tether="$api/hubs/general/things"
    : >"$work/rates"
    for round in $(seq 1 "$rounds"); do
        result=$(run_wrk 16 2 "$direct")
        read -r direct_rate _ _ _ <<<"$result"
        workers=$(nginx_workers)
        before=$(workers_ticks "$workers")
        result=$(run_wrk 16 2 "$through_nginx")
        read -r nginx_rate nginx_total _ _ <<<"$result"
        after=$(workers_ticks "$workers")
        # nginx's workers serve the instant upstream too: its share is counted with the proxy's.
        nginx_micros=$(micros_per_call $((after - before)) "$nginx_total")
        before=$(cpu_ticks "$tether_pid")
        result=$(run_wrk 16 2 "$through_tether" "$authorization")
        read -r tether_rate tether_total _ _ <<<"$result"
        after=$(cpu_ticks "$tether_pid")
        tether_micros=$(micros_per_call $((after - before)) "$tether_total")
        echo "$upstream round $round: direct $direct_rate/s, nginx $nginx_rate/s ($nginx_micros µs a call)," \
            "Tether $tether_rate/s ($tether_micros µs a call)"
        echo "$direct_rate $nginx_rate $tether_rate $nginx_micros $tether_micros" >>"$work/rates"
    done
    direct_rate=$(awk '{ print $1 }' "$work/rates" | median)
    nginx_rate=$(awk '{ print $2 }' "$work/rates" | median)
    tether_rate=$(awk '{ print $3 }' "$work/rates" | median)
    spread=$(awk '{ r = $3 / $2; if (NR == 1 || r < low) low = r; if (NR == 1 || r > high) high = r } END { printf "%.2f to %.2f", low, high }' "$work/rates")
    record "proxy throughput, 16 connections, $label: Tether / nginx (rounds), Tether / direct" \
        "$(awk -v t="$tether_rate" -v n="$nginx_rate" -v d="$direct_rate" -v s="$spread" \
            'BEGIN { printf "%.2f (%s), %.2f; %.0f/s, nginx %.0f/s, direct %.0f/s", t / n, s, t / d, t, n, d }')" \
        "at least 1.0 of nginx"
    record "processor time per proxied call, $label: Tether, median (rounds) (nginx)" \
        "$(awk '{ print $5 }' "$work/rates" | median) µs ($(awk '{ print $5 }' "$work/rates" | sort -g | awk 'NR == 1 { low = $1 } { high = $1 } END { printf "%s to %s", low, high }') µs) ($(awk '{ print $4 }' "$work/rates" | median) µs)" \
        "at most half of 100 to 140 µs"
    result=$(run_wrk 1 1 "$direct")
    read -r _ _ direct_p50 direct_p99 <<<"$result"
    result=$(run_wrk 1 1 "$through_nginx")
    read -r _ _ nginx_p50 nginx_p99 <<<"$result"
    result=$(run_wrk 1 1 "$through_tether" "$authorization")
    read -r _ _ tether_p50 tether_p99 <<<"$result"
    record "added latency, one connection, $label: Tether p50 / p99 (nginx p50 / p99)" \
        "$(awk -v d50="$direct_p50" -v d99="$direct_p99" -v n50="$nginx_p50" -v n99="$nginx_p99" -v t50="$tether_p50" -v t99="$tether_p99" \
            'BEGIN { printf "%.0f / %.0f µs (%.0f / %.0f µs)", t50 - d50, t99 - d99, n50 - d50, n99 - d99 }')" \
        "p50 at most nginx's"
done

# Resident memory: idle (above, before any load), at the peak of 200 connections for 10 s, and back after the load.
wrk -t2 -c200 -d10s -H "Authorization: ${proxy_authorization[0]}" "$api/hubs/general/things" >"$work/wrk200.out" &
load_pid=$!
peak=$idle
while kill -0 "$load_pid" 2>/dev/null; do
    peak=$(awk -v a="$peak" -v b="$(resident)" 'BEGIN { print (b > a) ? b : a }')
    sleep 0.2
done
waited=0
after=$(resident)
while awk -v a="$after" -v i="$idle" 'BEGIN { exit !(a > 1.5 * i) }' && [ "$waited" -lt 60 ]; do
    sleep 1
    waited=$((waited + 1))
    after=$(resident)
done
record "resident memory around 200 connections for 10 s: idle, peak, after" \
    "$idle MB, $peak MB, $after MB ($(awk -v a="$after" -v i="$idle" 'BEGIN { printf "%.2f", a / i }')x idle, ${waited} s after)" \
    "after at most 1.5x idle within 60 s"
