#!/usr/bin/env bash
# loginguard proxy against nginx, in one run, on loopback only.
#
#   bench/proxy.sh                       # 10 s per case, 3 rounds
#   DURATION=5s ROUNDS=2 bench/proxy.sh
#   LOGINGUARD_PROXY_WORKERS=1 bench/proxy.sh   # the proxy's --workers (default: one per CPU,
#                                               # as nginx's worker_processes auto)
#
# Both proxies stand in front of the same upstream (examples/bench-server)
# with keep-alive on both sides; wrk (1 thread, $CONNECTIONS connections)
# alternates between them each round, as the machine's load drifts:
#   a)  non-login requests: GET / through loginguard proxy vs through nginx
#   b)  locked-out refusals: POST /login-bare from a locked IP through
#       loginguard proxy vs nginx's own static 429 (`return 429`)
# Prints a markdown table: requests/s, p99 and non-2xx per case.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
UP=127.0.0.1:18180
LG=127.0.0.1:18181
NG=127.0.0.1:18182
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
BIN=$(cd "$(dirname "$CARGO_TARGET_DIR/x")" && pwd)/release

command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || (apt-get update -qq && apt-get install -y -qq nginx) >/dev/null
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p example-bench-server -p loginguard-cli

WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

wait_up() { for _ in $(seq 1 100); do curl -s -o /dev/null "http://$1/" && return 0; sleep 0.1; done; echo "$1 did not start" >&2; exit 1; }

LOGINGUARD_STORE=memory "$BIN/example-bench-server" "$UP" >/dev/null &
PIDS+=($!)
wait_up "$UP"

(cd "$WORK" && LOGINGUARD_STORE=memory LOGINGUARD_COOL_OFF=1h exec \
  "$BIN/loginguard" proxy --upstream "http://$UP" --addr "$LG" \
  --login-path /login-bare --preset json >/dev/null) &
PIDS+=($!)
wait_up "$LG"

cat >"$WORK/nginx.conf" <<CONF
worker_processes auto;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/body; proxy_temp_path $WORK/proxy;
  fastcgi_temp_path $WORK/fastcgi; uwsgi_temp_path $WORK/uwsgi; scgi_temp_path $WORK/scgi;
  upstream app { server $UP; keepalive 64; }
  server {
    listen $NG;
    location = /login-bare { return 429 "Too many login attempts\n"; }
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
  }
}
CONF
"$NGINX" -p "$WORK" -c "$WORK/nginx.conf" -e "$WORK/error.log" &
PIDS+=($!)
wait_up "$NG"

# Lock 127.0.0.1 on the proxy's login path: three wrong passwords.
for _ in 1 2 3; do
  curl -s -o /dev/null -d 'username=alice&password=wrong' "http://$LG/login-bare"
done
code=$(curl -s -o /dev/null -w '%{http_code}' -d 'username=alice&password=wrong' "http://$LG/login-bare")
[ "$code" = 429 ] || { echo "expected 429 from the locked IP, got $code" >&2; exit 1; }

cat >"$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "username=alice&password=wrong"
LUA

run() { # name url [script]
  local out rps p99 non2xx
  out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency ${3:+-s "$3"} "$2")
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
  printf '| %s | %s | %s | %s |\n' "$1" "$rps" "$p99" "${non2xx:-0}"
}

echo "wrk -t1 -c$CONNECTIONS -d$DURATION, $(nproc) cores, ROUNDS=$ROUNDS, $("$NGINX" -v 2>&1)"
echo
echo '| case | requests/s | p99 | non-2xx |'
echo '| --- | --- | --- | --- |'
for _ in $(seq 1 "$ROUNDS"); do
  run "a) GET /, loginguard proxy" "http://$LG/"
  run "a) GET /, nginx" "http://$NG/"
  run "b) locked-out POST, loginguard proxy" "http://$LG/login-bare" "$WORK/post.lua"
  run "b) static 429, nginx" "http://$NG/login-bare" "$WORK/post.lua"
done
