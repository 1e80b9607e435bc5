#!/usr/bin/env bash
# The automatic purge after a spray of fresh IPs: N attempts (default
# 1,000,000), each from a new IP and each one failure, through a Guard with
# failure_window = 1h and a fake clock; the clock then moves one window and
# a purge interval on, and the next attempts start the purge. Prints key
# rows and disk size after the spray and after the purge, how long the
# purge took and what attempts waited meanwhile (against the same attempts
# just before).
#
#   bench/spray_purge.sh                           # SQLite only
#   LOGINGUARD_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test bench/spray_purge.sh
#   LOGINGUARD_SPRAY_IPS=100000 bench/spray_purge.sh
#
# SQLite uses a temporary file (TMPDIR); PostgreSQL a fresh schema
# `lg_spray_<pid>`, dropped afterwards.
set -euo pipefail

cd "$(dirname "$0")/.."
exec cargo bench -p loginguard --no-default-features --features sqlite,postgres \
    --bench spray_purge
