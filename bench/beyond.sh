#!/usr/bin/env bash
# The features beyond django-axes on, next to off, in one run (loopback only):
# the same bench server (examples/bench-server, memory store unless
# LOGINGUARD_STORE says otherwise) started alternately without and with
# secret + device_cookies + ignore_repeated_password + spray_limit = 10.
#
#   bench/beyond.sh                       # 10 s per case, 2 rounds
#   DURATION=5s ROUNDS=1 bench/beyond.sh
#
# Cases (wrk, 1 thread, $CONNECTIONS connections, bounded by $DURATION):
#   a) locked-out rejections      POST /login from a locked IP
#   c) wrong passwords            POST /login-users, 100000 users, a new password each
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-2}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-18081}
ADDR="127.0.0.1:$PORT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
export LOGINGUARD_STORE=${LOGINGUARD_STORE:-memory}
ON=(LOGINGUARD_SECRET=bench-secret-0123456789abcdef0123456789 LOGINGUARD_DEVICE_COOKIES=true
    LOGINGUARD_IGNORE_REPEATED_PASSWORD=true LOGINGUARD_SPRAY_LIMIT=10)

# shellcheck source=bench/bench-server.sh
. bench/bench-server.sh

run() { # label path script
  local out rps
  out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" -s "bench/http/$3" "http://$ADDR$2")
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  printf '| %s | %s |\n' "$1" "$rps"
}

echo "wrk -t1 -c$CONNECTIONS -d$DURATION, store: $LOGINGUARD_STORE, $(nproc) cores, ROUNDS=$ROUNDS"
echo
echo '| case | requests/s |'
echo '| --- | --- |'
for _ in $(seq 1 "$ROUNDS"); do
  start_server
  run "a) refusals, features off" /login login-fixed.lua
  run "c) wrong passwords, features off" /login-users login-many-passwords.lua
  stop_server
  start_server "${ON[@]}"
  run "a) refusals, features on" /login login-fixed.lua
  run "c) wrong passwords, features on" /login-users login-many-passwords.lua
  stop_server
done
