#!/usr/bin/env bash
# Instructions per request spent by `loginguard proxy`, counted by
# valgrind's callgrind: the same count whatever else the machine is doing.
#
#   bench/proxy_instructions.sh [LOGINGUARD_BINARY]
#
# The upstream (examples/bench-server) runs natively; the proxy runs under
# callgrind. For each case: warm up with $WARM requests, zero the counters
# (callgrind_control -z), send exactly $N requests on one keep-alive
# connection, dump (callgrind_control -d), print instructions / N.
#   a) GET / passed through      b) POST /login-bare from a locked-out IP
# KEEP=DIR keeps the callgrind files there (for callgrind_annotate).
set -euo pipefail
cd "$(dirname "$0")/.."
WARM=${WARM:-200}
N=${N:-2000}
UP=127.0.0.1:${UP_PORT:-18190}
PORT=${PORT:-18191}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
BIN=$(cd "$(dirname "$CARGO_TARGET_DIR/x")" && pwd)/release
LG=${1:-$BIN/loginguard}
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
OUT=${KEEP:-$(mktemp -d)}
mkdir -p "$OUT"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; [ -n "${KEEP:-}" ] || rm -rf "$OUT"; }
trap cleanup EXIT

wait_up() { for _ in $(seq 1 600); do curl -s -o /dev/null "http://$1/" && return 0; sleep 0.1; done; echo "$1 did not start" >&2; exit 1; }

send() { # kind n: n requests on one connection; fails on an unexpected status
  python3 - "$PORT" "$1" "$2" <<'PY'
import socket, sys
port, kind, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
if kind == "get":
    req, want = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", b"200"
else:
    body = b"username=alice&password=wrong"
    req = (b"POST /login-bare HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"Content-Type: application/x-www-form-urlencoded\r\n"
           b"Content-Length: %d\r\n\r\n" % len(body)) + body
    want = b"429"
s = socket.create_connection(("127.0.0.1", port), timeout=60)
f = s.makefile("rb")
for _ in range(n):
    s.sendall(req)
    status = f.readline()
    if not status:
        sys.exit("the proxy closed the connection")
    length, chunked = 0, False
    while True:
        line = f.readline()
        if line in (b"\r\n", b""):
            break
        k, _, v = line.partition(b":")
        k = k.strip().lower()
        if k == b"content-length":
            length = int(v)
        elif k == b"transfer-encoding" and b"chunked" in v.lower():
            chunked = True
    if chunked:
        while True:
            size = int(f.readline().split(b";")[0], 16)
            f.read(size + 2)
            if size == 0:
                break
    else:
        f.read(length)
    if status.split()[1] != want:
        sys.exit(f"expected {want!r}, got {status!r}")
PY
}

LOGINGUARD_STORE=memory "$BIN/example-bench-server" "$UP" >/dev/null &
PIDS+=($!)
wait_up "$UP"

WORK=$(mktemp -d)
(cd "$WORK" && LOGINGUARD_STORE=memory LOGINGUARD_COOL_OFF=1h exec valgrind --tool=callgrind \
  --callgrind-out-file="$OUT/cg.out" "$LG" proxy --upstream "http://$UP" \
  --addr "127.0.0.1:$PORT" --login-path /login-bare --preset json >/dev/null 2>"$OUT/valgrind.log") &
PIDS+=($!)
VG=$!
wait_up "127.0.0.1:$PORT"
for _ in 1 2 3; do
  curl -s -o /dev/null -d 'username=alice&password=wrong' "http://127.0.0.1:$PORT/login-bare"
done

count() { # kind dump-number: instructions per request
  send "$1" "$WARM"
  callgrind_control -z "$VG" >/dev/null
  send "$1" "$N"
  callgrind_control --dump="$1" "$VG" >/dev/null
  local total
  total=$(awk '/^totals:/ {s += $2} END {print s + 0}' "$OUT/cg.out.$2")
  echo $(( total / N ))
}

echo "| case | instructions per request (N=$N) |"
echo "| --- | --- |"
printf '| a) GET / passed through | %s |\n' "$(count get 1)"
printf '| b) locked-out POST refused | %s |\n' "$(count post 2)"
rm -rf "$WORK"
