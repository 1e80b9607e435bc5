# Sourced by bench/http.sh and bench/beyond.sh: wrk, the release build of
# examples/bench-server, and starting and stopping it on $ADDR with
# 127.0.0.1 locked on /login. Needs $ADDR and $CARGO_TARGET_DIR.

if ! command -v wrk >/dev/null; then
  (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null
fi

[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p example-bench-server
SERVER=
trap '[ -z "$SERVER" ] || kill "$SERVER" 2>/dev/null || true' EXIT

start_server() { # extra environment, e.g. LOGINGUARD_FAILURE_LOG=false
  env "$@" "$CARGO_TARGET_DIR/release/example-bench-server" "$ADDR" >/dev/null &
  SERVER=$!
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://$ADDR/" && break
    sleep 0.1
  done
  # Lock 127.0.0.1 on /login: three distinct wrong passwords (a repeated
  # one counts once with ignore_repeated_password).
  for i in 1 2 3; do
    curl -s -o /dev/null -d "username=alice&password=wrong$i" "http://$ADDR/login"
  done
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' -d 'username=alice&password=wrong' "http://$ADDR/login")
  [ "$code" = 429 ] || { echo "expected 429 from a locked IP, got $code" >&2; exit 1; }
}

stop_server() {
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  SERVER=
}
