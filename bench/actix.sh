#!/usr/bin/env bash
# HTTP load benchmark of the actix-web middleware, on loopback only.
#
#   bench/actix.sh                          # 10 s per case, 3 rounds
#   DURATION=5s ROUNDS=1 bench/actix.sh     # shorter
#
# Cases (each with wrk, 1 thread, $CONNECTIONS connections, bounded by
# $DURATION; a and b alternate $ROUNDS times, as the machine's load drifts):
#   a)  locked-out refusals through the middleware   POST /login from a locked IP
#   b)  the same server's bare static 429            POST /static-429 (same bytes)
#   b') b after reading the request body             POST /static-429-read-body
# actix-web closes the connection when a response goes out before the body
# was read: b pays a new connection per request, b' and a do not, so b' is
# the fair baseline.
# The server is examples/bench-actix (release build, memory store by
# default; set LOGINGUARD_STORE=sqlite://... to load another store).
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-18081}
ADDR="127.0.0.1:$PORT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
export LOGINGUARD_STORE=${LOGINGUARD_STORE:-memory}

if ! command -v wrk >/dev/null; then
  (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null
fi

[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p example-bench-actix
SERVER=
trap '[ -z "$SERVER" ] || kill "$SERVER" 2>/dev/null || true' EXIT

"$CARGO_TARGET_DIR/release/example-bench-actix" "$ADDR" >/dev/null &
SERVER=$!
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://$ADDR/" && break
  sleep 0.1
done
# Lock 127.0.0.1 on /login: three wrong passwords.
for _ in 1 2 3; do
  curl -s -o /dev/null -d 'username=alice&password=wrong' "http://$ADDR/login"
done
code=$(curl -s -o /dev/null -w '%{http_code}' -d 'username=alice&password=wrong' "http://$ADDR/login")
[ "$code" = 429 ] || { echo "expected 429 from a locked IP, got $code" >&2; exit 1; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }

run() { # name path
  local out rps p99 non2xx n t0 t1 cpu
  t0=$(cpu_ticks)
  out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/http/login-fixed.lua "http://$ADDR$2")
  t1=$(cpu_ticks)
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  cpu=$(awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v n="$n" 'BEGIN {printf "%.2f", t * 1e6 / hz / n}')
  printf '| %s | `%s` | %s | %s | %s | %s |\n' "$1" "$2" "$rps" "$p99" "$cpu" "${non2xx:-0}"
  echo "$rps" >>"$RESULTS.$3"
}

RESULTS=$(mktemp)
echo "wrk -t1 -c$CONNECTIONS -d$DURATION, store: $LOGINGUARD_STORE, $(nproc) cores, ROUNDS=$ROUNDS"
echo
echo '| case | route | requests/s | p99 | server CPU µs/request | non-2xx |'
echo '| --- | --- | --- | --- | --- | --- |'
for _ in $(seq 1 "$ROUNDS"); do
  run "a) locked-out refusals, actix middleware" /login a
  run "b) static 429, no middleware" /static-429 b
  run "b') static 429 after reading the body" /static-429-read-body c
done
kill "$SERVER" 2>/dev/null || true
wait "$SERVER" 2>/dev/null || true
SERVER=
echo
sum() { awk '{s += $1} END {print s}' "$1"; }
awk -v a="$(sum "$RESULTS.a")" -v b="$(sum "$RESULTS.b")" -v c="$(sum "$RESULTS.c")" \
  'BEGIN {printf "a / b: %.3f x, a / b'"'"': %.3f x\n", a / b, a / c}'
rm -f "$RESULTS" "$RESULTS.a" "$RESULTS.b" "$RESULTS.c"
