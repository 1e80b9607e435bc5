#!/usr/bin/env bash
# A store outage under load, on loopback only: `loginguard demo` on a
# private Redis or PostgreSQL (never the shared ones), loaded with wrk while
# the store is stopped and started again on the same port.
#
#   bench/outage.sh redis        # or: bench/outage.sh postgres
#   DURATION=5s ROUNDS=3 CONNECTIONS=16 bench/outage.sh redis
#
# Per round: (a) wrk with the store up (the baseline), (b) wrk with the
# store killed (redis: SIGKILL; postgres: pg_ctl stop -m immediate), then
# (c) the store started again while wrk keeps loading, and a curl probe
# every ~10 ms timing the first 200 after the restart. Requests are the
# right password for alice (argon2 made cheap), so each one needs the
# store; store_timeout = 500ms, on_store_error = deny (503 while down),
# failure_limit = 1000000 (16 connections from one IP).
set -euo pipefail

cd "$(dirname "$0")/.."
KIND=${1:-redis}
DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-16}
PORT=${PORT:-18090}
SPORT=${SPORT:-18391}
ADDR="127.0.0.1:$PORT"
TIMEOUT=${TIMEOUT:-500ms}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
BIN="$CARGO_TARGET_DIR/release/loginguard"
case $BIN in /*) ;; *) BIN="$(pwd)/$BIN" ;; esac
WORK=$(mktemp -d)
DEMO=
STORE_PID=

[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p loginguard-cli
for p in "$PORT" "$SPORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "port $p is taken: set PORT / SPORT" >&2; exit 1
  fi
done

pg() { # a PostgreSQL tool, as the postgres user when root
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$bin/$1" "${@:2}"; else "$bin/$1" "${@:2}"; fi
}

store_start() {
  case $KIND in
    redis)
      redis-server --port "$SPORT" --bind 127.0.0.1 --save "" --appendonly no \
        --daemonize no --dir "$WORK" >/dev/null &
      STORE_PID=$!
      until redis-cli -p "$SPORT" ping >/dev/null 2>&1; do sleep 0.01; done ;;
    postgres)
      pg pg_ctl -D "$WORK/data" -o "-p $SPORT -k $WORK -c listen_addresses=127.0.0.1" \
        -l "$WORK/pg.log" -w start >/dev/null ;;
  esac
}

store_stop() {
  case $KIND in
    redis) kill -9 "$STORE_PID"; wait "$STORE_PID" 2>/dev/null || true; STORE_PID= ;;
    postgres) pg pg_ctl -D "$WORK/data" -m immediate -w stop >/dev/null ;;
  esac
}

cleanup() {
  [ -z "$DEMO" ] || kill "$DEMO" 2>/dev/null || true
  case $KIND in
    redis) [ -z "$STORE_PID" ] || { kill -9 "$STORE_PID"; wait "$STORE_PID"; } 2>/dev/null || true ;;
    postgres) pg pg_ctl -D "$WORK/data" -m immediate -w stop >/dev/null 2>&1 || true ;;
  esac
  rm -rf "$WORK"
}
trap cleanup EXIT

case $KIND in
  redis) URL="redis://127.0.0.1:$SPORT/0" ;;
  postgres)
    [ "$(id -u)" != 0 ] || chown postgres: "$WORK"
    pg initdb -D "$WORK/data" -A trust -U postgres --no-sync >/dev/null
    URL="postgres://postgres@127.0.0.1:$SPORT/postgres" ;;
  *) echo "usage: $0 redis|postgres" >&2; exit 2 ;;
esac
store_start

# failure_limit is high: with 16 connections from one IP, in-flight
# attempts count until their password is known.
(cd "$WORK" && LOGINGUARD_STORE="$URL" LOGINGUARD_STORE_TIMEOUT="$TIMEOUT" LOGINGUARD_AUTO_MIGRATE=true \
  LOGINGUARD_FAILURE_LIMIT=1000000 \
  exec "$BIN" demo --addr "$ADDR" --argon2-memory-kib 64 --argon2-iterations 1 >/dev/null 2>"$WORK/demo.log") &
DEMO=$!
for _ in $(seq 1 200); do
  curl -s -o /dev/null "http://$ADDR/healthz" && break
  kill -0 "$DEMO" 2>/dev/null || { cat "$WORK/demo.log" >&2; exit 1; }
  sleep 0.05
done

load() { # label
  local out
  out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/http/login-success.lua "http://$ADDR/login")
  printf '| %s | %s | %s | %s | %s | %s |\n' "$1" \
    "$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")" \
    "$(awk '$1 == "50%" {print $2}' <<<"$out")" \
    "$(awk '$1 == "99%" {print $2}' <<<"$out")" \
    "$(awk '/Latency/ {print $4}' <<<"$out")" \
    "$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")"
}

code() { curl -s -o /dev/null -m 5 -w '%{http_code}' -d 'username=alice&password=wonderland' "http://$ADDR/login"; }

echo "$KIND, store_timeout = $TIMEOUT, wrk -t1 -c$CONNECTIONS -d$DURATION, $(nproc) cores"
echo
echo '| phase | requests/s | p50 | p99 | max | non-2xx |'
echo '| --- | --- | --- | --- | --- | --- |'
RECOVERY=()
for _ in $(seq 1 "$ROUNDS"); do
  [ "$(code)" = 200 ] || { echo "expected 200 with the store up" >&2; exit 1; }
  load "store up"
  store_stop
  [ "$(code)" = 503 ] || { echo "expected 503 with the store down" >&2; exit 1; }
  load "store down"
  wrk -t1 -c"$CONNECTIONS" -d"$DURATION" -s bench/http/login-success.lua "http://$ADDR/login" >/dev/null &
  WRK=$!
  sleep 1
  t0=$(date +%s%3N)
  store_start
  t1=$(date +%s%3N)
  until [ "$(code)" = 200 ]; do sleep 0.01; done
  t2=$(date +%s%3N)
  wait "$WRK"
  RECOVERY+=("$((t2 - t0)) ms after the restart command, $((t2 - t1)) ms after the store answered")
done
echo
for r in "${RECOVERY[@]}"; do echo "first 200: $r"; done
