#!/usr/bin/env bash
# Server instructions per locked-out refusal, counted by valgrind's callgrind:
# the same count whatever else the machine is doing, so two builds can be
# compared on a loaded machine.
#
#   bench/instructions.sh BINARY [BINARY...]   # example-bench-server builds
#
# For each binary: run it under callgrind, lock 127.0.0.1 on /login, warm up
# with $WARM refused requests, zero the counters (callgrind_control -z), send
# exactly $N refused POST /login requests on one keep-alive connection, dump
# the counters (callgrind_control -d) and print instructions / N. Loopback
# only; every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
WARM=${WARM:-200}
N=${N:-2000}
PORT=${PORT:-18090}
ADDR="127.0.0.1:$PORT"
export LOGINGUARD_STORE=${LOGINGUARD_STORE:-memory}
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
OUT=$(mktemp -d)
SERVER=
trap '[ -z "$SERVER" ] || kill "$SERVER" 2>/dev/null || true; rm -rf "$OUT"' EXIT

send() { # n: n refused requests on one connection, each written at once as
  # wrk writes them; fails on any other status or a closed connection
  python3 - "$PORT" "$1" <<'PY'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
body = b"username=alice&password=wrong"
req = (b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
       b"Content-Type: application/x-www-form-urlencoded\r\n"
       b"Content-Length: %d\r\n\r\n" % len(body)) + body
s = socket.create_connection(("127.0.0.1", port), timeout=60)
f = s.makefile("rb")
for _ in range(n):
    s.sendall(req)
    status = f.readline()
    if not status:
        sys.exit("the server closed the connection")
    length = 0
    while True:
        line = f.readline()
        if line in (b"\r\n", b""):
            break
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    f.read(length)
    if status.split()[1] != b"429":
        sys.exit(f"expected 429, got {status!r}")
PY
}

instructions() { # binary: instructions per refusal
  local file="$OUT/cg.$RANDOM"
  valgrind --tool=callgrind --callgrind-out-file="$file" "$1" "$ADDR" >/dev/null 2>"$file.log" &
  SERVER=$!
  for _ in $(seq 1 600); do
    curl -s -o /dev/null "http://$ADDR/" && break
    sleep 0.1
  done
  for i in 1 2 3; do # distinct passwords: a repeated one may count once
    curl -s -o /dev/null -d "username=alice&password=wrong$i" "http://$ADDR/login"
  done
  send "$WARM"
  callgrind_control -z "$SERVER" >/dev/null
  send "$N"
  callgrind_control -d "$SERVER" >/dev/null
  kill -KILL "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  SERVER=
  local total
  total=$(cat "$file".* 2>/dev/null | awk '/^totals:/ {s += $2} END {print s + 0}')
  echo $(( total / N ))
}

echo "| binary | instructions per refusal |"
echo "| --- | --- |"
for bin in "$@"; do
  printf '| %s | %s |\n' "$(basename "$bin")" "$(instructions "$bin")"
done
