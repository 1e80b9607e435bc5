#!/usr/bin/env bash
# HTTP load benchmark of the loginguard layer, on loopback only.
#
#   bench/http.sh                 # 10 s per case
#   DURATION=5s ROUNDS=1 bench/http.sh     # shorter
#
# Cases (each with wrk, 1 thread, $CONNECTIONS connections, bounded by $DURATION;
# a and b alternate $ROUNDS times, as the machine's load drifts):
#   a)  locked-out rejections through the layer   POST /login from a locked IP
#   b)  the same server's bare static 429         POST /static-429 (same bytes)
#   b') b after reading the request body          POST /static-429-read-body
#   c)  wrong passwords over 100000 usernames     POST /login-users (layer) vs /login-bare
# then a and b again on a server with failure_log = false (no audit row per
# refused attempt).
# The server is examples/bench-server (release build, memory store by
# default; set LOGINGUARD_STORE=sqlite://... to load another store).
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-18080}
ADDR="127.0.0.1:$PORT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
export LOGINGUARD_STORE=${LOGINGUARD_STORE:-memory}

# shellcheck source=bench/bench-server.sh
. bench/bench-server.sh

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }

run() { # name path script
  local out rps p99 non2xx n t0 t1 cpu
  t0=$(cpu_ticks)
  out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s "bench/http/$3" "http://$ADDR$2")
  t1=$(cpu_ticks)
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  # Server CPU (user + system) per request, in microseconds: steadier than
  # requests/s when other work shares the machine.
  cpu=$(awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v n="$n" 'BEGIN {printf "%.2f", t * 1e6 / hz / n}')
  printf '| %s | `%s` | %s | %s | %s | %s |\n' "$1" "$2" "$rps" "$p99" "$cpu" "${non2xx:-0}"
}

echo "wrk -t1 -c$CONNECTIONS -d$DURATION, store: $LOGINGUARD_STORE, $(nproc) cores, ROUNDS=$ROUNDS"
echo
echo '| case | route | requests/s | p99 | server CPU µs/request | non-2xx |'
echo '| --- | --- | --- | --- | --- | --- |'
start_server
for _ in $(seq 1 "$ROUNDS"); do
  run "a) locked-out rejections, layer" /login login-fixed.lua
  run "b) static 429, no layer" /static-429 login-fixed.lua
  run "b') static 429 after reading the body" /static-429-read-body login-fixed.lua
done
run "c) wrong passwords, 100k users, layer on" /login-users login-many-users.lua
run "c) wrong passwords, 100k users, layer off" /login-bare login-many-users.lua
stop_server
start_server LOGINGUARD_FAILURE_LOG=false
for _ in $(seq 1 "$ROUNDS"); do
  run "a) locked-out rejections, layer, failure_log = false" /login login-fixed.lua
  run "b) static 429, no layer" /static-429 login-fixed.lua
done
stop_server
